"""Red team 2 of issue 23 (fixed by the sweep of owed dead letters): a file the Hub rejected whose
dead letter was not confirmed (owed: its failed manifest's `dead_letters_unconfirmed`, its import
message left unacked), deleted from the bucket (record tombstoned DELETED, keeping the failed
manifest), then uploaded again under ON_OVERWRITE=skip (one ledger record per name) and imported
anew. claims._after_deletion takes the record over for the new generation, so the failed manifest
is no longer named by any record: when the rejected generation's message comes back, _judge calls
it a duplicate and it is acked. Before the fix its dead letter was never sent. Now the failed
manifest's `owed/` marker makes every flush send what it still owes (dead_letters.sweep_owed),
whatever became of the message. (No network: the state bucket is a dict, Pub/Sub a recorder.)"""
from __future__ import annotations

from types import SimpleNamespace

from hub_import.core import clock
from hub_import.core.assets import Asset
from hub_import.core.messages import ObjectMessage, decode_message
from hub_import.core.objects import ObjectRef
from hub_import.flush.dead_letters import UNCONFIRMED, owed_dead_letters, sweep_owed
from hub_import.flush.items import Item
from hub_import.state.ledger import FAILED
from hub_import.state.manifests import FAILED as MANIFEST_FAILED, ManifestStore
from tests.unit.flush.test_early_claims import DEST, Shipper, Store

PREFIX = "manifests/"
FAILED_MANIFEST = f"{PREFIX}m-failed.json"


class DeadLetters:
    """The flush queue's dead-letter side: records what it publishes; `failing` ones fail."""

    def __init__(self, failing: bool = False):
        self.failing, self.sent = failing, []

    def dead_letter(self, rows):
        if self.failing:
            return [False] * len(rows)
        self.sent += rows
        return [True] * len(rows)


def message_item(generation: int) -> Item:
    ref = ObjectRef("landing", "x/d.pdf", generation, size=10)
    item = Item(ObjectMessage(ref, DEST, None), [f"ack-{generation}"])
    item.asset = SimpleNamespace(external_id="x/d.pdf", data="https://x/x/d.pdf")
    return item


def failed_manifest(store, owed: list[str], names=("x/d.pdf",)) -> ManifestStore:
    manifests = ManifestStore(store, PREFIX)
    refs = [ObjectRef("landing", n, 1, size=10) for n in names]
    assets = [Asset(external_id=r.name, data=f"https://storage.googleapis.com/landing/{r.name}") for r in refs]
    manifests.create(FAILED_MANIFEST, DEST, assets, refs, "f0", 0, state=MANIFEST_FAILED,
                     error="unknown storage", **{UNCONFIRMED: owed})
    return manifests


def test_a_rejected_generations_owed_dead_letter_is_sent_after_the_name_is_imported_anew():
    store = Store()
    flush = Shipper(store, live={"x/d.pdf": 2})
    manifests = failed_manifest(store, ["x/d.pdf"])
    flush.claims.manifests = manifests
    g1 = ObjectRef("landing", "x/d.pdf", 1)
    # GIVEN generation 1 rejected (dead letter owed), then deleted: the deleter tombstones the record
    flush.ledger.store.write(flush.ledger.path(g1), {"state": FAILED, "object": g1.uri, "generation": 1,
                                                     "external_id": "x/d.pdf", "manifest": FAILED_MANIFEST})
    doc = flush.ledger.read(g1)
    flush.ledger.mark_deleted(g1, doc.generation, doc.body, "fD", note="never in the Hub")
    # WHEN the name is uploaded again (generation 2), claimed anew and sent
    rec = flush.ledger.read(g1)
    assert flush.claims._judge(message_item(2), rec.body, rec.generation, "manifests/m2.json", DEST) == "keep"
    g2 = ObjectRef("landing", "x/d.pdf", 2)
    assert flush.ledger.settle(g2, "sent", "manifests/m2.json", "f1", "x/d.pdf", flush.ledger.read(g1).generation)
    # AND generation 1's message comes back: no record names its failed manifest, it is acked
    rec = flush.ledger.read(g1)
    assert flush.claims._judge(message_item(1), rec.body, rec.generation, "manifests/m3.json", DEST) != "rejected"
    # THEN the next flush's sweep sends its dead letter all the same, and it is owed no more
    queue = DeadLetters()
    sweep_owed(queue, manifests, "f2", lease_s=60)
    assert [(decode_message(data).ref, reason) for data, _, reason in queue.sent] == \
        [(ObjectRef("landing", "x/d.pdf", 1, size=10), "Hub rejected: unknown storage")]
    assert manifests.state_of(FAILED_MANIFEST)[UNCONFIRMED] == [] and list(manifests.owed()) == []
    # AND a later sweep sends nothing again
    sweep_owed(queue, manifests, "f3", lease_s=60)
    assert len(queue.sent) == 1


def test_a_sweep_that_pubsub_refuses_keeps_owing_and_stops():
    store = Store()
    manifests = failed_manifest(store, ["x/a.pdf", "x/b.pdf"], names=("x/a.pdf", "x/b.pdf", "x/c.pdf"))
    down = DeadLetters(failing=True)
    sweep_owed(down, manifests, "f1", lease_s=60)
    assert sorted(manifests.state_of(FAILED_MANIFEST)[UNCONFIRMED]) == ["x/a.pdf", "x/b.pdf"]
    assert [p for p, _ in manifests.owed()] == [FAILED_MANIFEST]
    up = DeadLetters()
    sweep_owed(up, manifests, "f2", lease_s=60)
    assert sorted(a["name"] for _, a, _ in up.sent) == ["x/a.pdf", "x/b.pdf"], "only what is owed (c was confirmed)"
    assert list(manifests.owed()) == []


def test_a_dead_letter_confirmed_when_its_message_comes_back_drops_the_marker():
    store = Store()
    manifests = failed_manifest(store, ["x/d.pdf"])
    manifest = manifests.load(FAILED_MANIFEST)
    owed_dead_letters(manifests, manifest, set(), "f1")  # what settle_owed does once confirmed
    assert list(manifests.owed()) == []


def test_a_marker_without_its_state_is_dropped_only_once_older_than_a_flushs_claims():
    store = Store()
    manifests = ManifestStore(store, PREFIX)
    store.write(f"{PREFIX}owed/m-lost-failed.json", {"manifest": f"{PREFIX}m-lost-failed.json", "at": clock.now()})
    sweep_owed(DeadLetters(), manifests, "f1", lease_s=60)
    assert len(list(manifests.owed())) == 1, "maybe a live flush's, about to write its state"
    store.write(f"{PREFIX}owed/m-lost-failed.json", {"manifest": f"{PREFIX}m-lost-failed.json",
                                                     "at": clock.now() - 61})
    sweep_owed(DeadLetters(), manifests, "f1", lease_s=60)
    assert list(manifests.owed()) == []

