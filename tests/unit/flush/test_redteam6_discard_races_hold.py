"""Red team 6: `deletions --discard` (HeldDeletions.discard) reads a held deletion, records it kept,
then deletes its document with no generation precondition; the CLI holds no lease, so a flush may
hold a newer generation's deletion of the same name in between (`hold` rewrites the document, over
its generation, and acks that deletion's message). The discard then deletes the newer hold with
the old one: that deletion is acked, not held, and the ledger untouched, so its asset stays for
good, neither approved nor discarded by anyone; and `sweep --deletions` cannot bring it back
(records per name: the record names the kept generation, which the kept document covers).
Fix (here): delete the held document only at the generation read (a newer hold stays held, and
the discard says it was not done). (No network: an in-memory state bucket.)"""
from __future__ import annotations

from hub_import.core.objects import ObjectRef
from hub_import.state.held_deletions import HeldDeletions
from tests.unit.flush.test_flush_in_memory import ListingStore

KEY = "k" * 64


class RacingStore(ListingStore):
    """A state bucket where a flush holds a newer deletion right before the discard's delete lands."""

    def __init__(self):
        super().__init__()
        self.before_delete = None

    def delete(self, path, if_generation_match=None):
        if self.before_delete is not None:
            hook, self.before_delete = self.before_delete, None
            hook()
        return super().delete(path, if_generation_match=if_generation_match)


def test_a_discard_does_not_delete_a_newer_deletion_held_meanwhile():
    store = RacingStore()
    held = HeldDeletions(store, "ledger/")
    g1, g2 = ObjectRef("landing", "cams/x.jpg", 1), ObjectRef("landing", "cams/x.jpg", 2)
    # GIVEN the deletion of g1 held past the limit
    held.hold(KEY, g1, event="deleted", event_id="e1", flush_id="f1", limit=3)
    # WHEN a person discards it while a flush holds the deletion of g2 (uploaded again, deleted again)
    store.before_delete = lambda: held.hold(KEY, g2, event="deleted", event_id="e2", flush_id="f2", limit=3)
    try:
        held.discard(held.path(KEY))
    except Exception:  # noqa: BLE001 - a discard that says it could not be done is fine
        pass
    # THEN g1's assets are kept, and g2's deletion is still held (for --approve or --discard)
    assert held.keeps(KEY, 1)
    doc = held.read(KEY)
    assert doc is not None and doc.body["generation"] == 2
