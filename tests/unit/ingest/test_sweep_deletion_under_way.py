"""The sweep and a deletion under way (found by the simulation, seed 2228; regression
`exactly-once-2228` in tests/simulation/regressions.py): a name imported, deleted from the bucket,
uploaded again while its deletion was under way (the ledger record `deleting`, the intent written
before the DELETE), the new generation's event lost. A sweep that took the `deleting` record of the
older generation for the new one judged it known and never queued it; once the deletion was done
(the record `deleted` of the older generation) the new generation, older than the next watermark,
was never looked at again: a live file never imported. The flush defers such a message until the
deletion is done (claims.py), so the sweep queues it."""
from __future__ import annotations

from hub_import.core.objects import ObjectRef
from hub_import.ingest.sweep import known
from hub_import.state.ledger import DELETING, Ledger
from tests.unit.ingest.test_sweep import make, queued, record, sweep


def _deleting(store, settings, name: str, generation: int) -> None:
    ledger = Ledger(store, settings.ledger_prefix, settings.each_generation)
    ref = ObjectRef("landing", name, generation)
    doc = ledger.read(ref)
    ledger.mark_deleted(ref, doc.generation, doc.body, "f", asset_ids=["a1"], project="proj", state=DELETING)


def test_a_newer_generation_than_the_one_a_deletion_under_way_removes_is_queued():
    settings, landing, store, publisher = make()
    landing.add("cams/a.jpg", generation=1)
    record(store, settings, "cams/a.jpg", generation=1)
    _deleting(store, settings, "cams/a.jpg", 1)  # generation 1 left; its asset is being deleted
    landing.add("cams/a.jpg", generation=2)  # uploaded again meanwhile, its event lost
    report = sweep(settings, landing, store, publisher)
    assert queued(publisher) == ["cams/a.jpg"] and report.queued == 1


def test_the_generation_a_deletion_under_way_removes_stays_known():
    settings, _, store, _ = make()
    record(store, settings, "cams/a.jpg", generation=3)
    _deleting(store, settings, "cams/a.jpg", 3)
    doc = Ledger(store, settings.ledger_prefix, settings.each_generation).read(ObjectRef("landing", "cams/a.jpg", 3))
    assert known(doc, ObjectRef("landing", "cams/a.jpg", 3))
