"""Red team 6: `known` takes a record whose deletion is under way (DELETING: the intent written,
the DELETE's answer lost, or the Hub down meanwhile) for one that accounts for the object, whatever
generation is live now. The flush does not: an import meeting DELETING is deferred, and once the
deletion is recorded (DELETED, `deleted_generation` g1) a newer generation is claimed anew
("uploaded again after its deletion"). So with ON_DELETE=delete (records per name):
- g1 imported; the file deleted; its deletion under way for an hour (the Hub not answering);
- the file uploaded again (g2), its event lost;
- the hourly sweep judges g2 while the record says DELETING: "known", nothing queued;
- the deletion completes; the pass that judged g2 has moved the watermark past g2's creation,
  so no later pass reads its record again: g2 is never imported. Lost, silently.
Fix (here): a DELETING record of an older generation accounts for the object no more than a
DELETED one: g2 is queued, and the flush defers it until the deletion is recorded, then imports it.
(No network: the fakes of tests/unit/ingest/test_sweep.py, a virtual clock.)"""
from __future__ import annotations


from hub_import.core import clock
from hub_import.core.objects import ObjectRef
from hub_import.state.ledger import DELETING, Ledger
from tests.unit.ingest.test_sweep import Clock, make, put, queued, sweep

T0 = 1_764_000_000.0


def test_a_file_uploaded_again_while_its_deletion_is_under_way_is_queued_by_the_sweep():
    settings, landing, store, publisher = make(0, ON_DELETE="delete")
    ledger = Ledger(store, settings.ledger_prefix, settings.each_generation)
    # GIVEN cams/x.jpg g1 imported, then deleted; its deletion under way (the intent written)
    g1 = int(T0 * 1e6)
    with clock.use(Clock(T0)):
        ledger.claim(ObjectRef("landing", "cams/x.jpg", g1), "m", "f", "cams/x.jpg")
        prior = ledger.read(ObjectRef("landing", "cams/x.jpg", g1))
        ledger.mark_deleted(ObjectRef("landing", "cams/x.jpg", g1), prior.generation, prior.body, "f",
                            asset_ids=["a1"], project="proj", state=DELETING)
    # and the file uploaded again (g2) 100 s later, its event lost
    g2 = put(landing, "cams/x.jpg", T0 + 200)
    assert g2 > g1
    # WHEN the hourly sweep runs while the deletion is under way ...
    with clock.use(Clock(T0 + 3600)):
        sweep(settings, landing, store, publisher)
    # ... the deletion is then recorded (the Hub back) ...
    with clock.use(Clock(T0 + 3700)):
        doc = ledger.read(ObjectRef("landing", "cams/x.jpg", g1))
        ledger.mark_deleted(ObjectRef("landing", "cams/x.jpg", g1), doc.generation, doc.body, "f",
                            asset_ids=["a1"], project="proj")
    # ... and the sweep runs on, hour after hour
    for hour in (2, 3, 24):
        with clock.use(Clock(T0 + 3600 * hour)):
            sweep(settings, landing, store, publisher)
    # THEN the generation uploaded again is queued (the flush defers it until the deletion is done)
    assert "cams/x.jpg" in queued(publisher)
    # and the flush, once the deletion is recorded, imports it anew
    from hub_import.flush.run import Flush
    from tests.unit.flush.test_flush_in_memory import Hub, Subscriber
    from tests.unit.flush.test_result_messages import Publisher

    hub = Hub()
    swept = [(f"s{i}", (data, attributes)) for i, (_, data, attributes) in enumerate(publisher.sent)]
    with clock.use(Clock(T0 + 3600 * 25)):
        Flush(settings, hub, store, Subscriber(swept), Publisher()).run()
    assert hub.imported == ["cams/x.jpg"]
    assert ledger.read(ObjectRef("landing", "cams/x.jpg", g2)).body["generation"] == g2
