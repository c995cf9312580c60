"""Red team 2 of issue 23 (fixed): RESULT-BYTES: two flushes handle the same deletion (Pub/Sub/Eventarc deliver at least once; two
flush instances pull the two copies). Flush B reads the ledger record (still `claimed`/sent) just
before flush A records the deletion, tells it and unmarks its untold marker. B then reaches
soft_delete._record: `_marked_untold` (soft_delete.py:199-217) WRITES the marker again, unconditionally
(ledger.mark_untold: a plain write, ledger.py:189-193), with B's own `at`, and only afterwards finds
the record changed (mark_deleted conflict) and defers. The marker is left behind with B's bytes.
When B's message comes back, deleter._look -> _untold finds it and tells it (RETOLD) under the very
result_id A told, with a different `at`: one result_id, two bodies (results promise: same bytes).
Fix: write the untold marker conditionally (if_generation_match on the ledger record it precedes,
or create-only + re-read the record after writing it and delete the marker if the record is no
longer the one read), or derive `at` from the ledger record (never from the Gone's clock.now())."""
from __future__ import annotations

from hub_import.core import clock
from hub_import.core.messages import DeletionMessage

from tests.unit.flush.redteam_deleting import SETTLE_S, Deleting, ListingHub, Publisher, Store, VirtualClock, told


def test_a_late_concurrent_deleter_leaves_a_marker_that_is_told_with_other_bytes():
    with clock.use(VirtualClock()) as now:
        store, hub, publisher = Store(), ListingHub(), Publisher()
        a = Deleting(store, hub, publisher, flush_id="fA")
        b = Deleting(store, hub, publisher, flush_id="fB")
        ref = a.imported("a.txt")
        hub.assets.clear()  # the asset was removed by hand: the deletion's outcome is not_in_hub
        now.sleep(SETTLE_S + 1)
        # B pulls its copy of the deletion and judges it against the ledger (record: sent)
        items = b.deleter._fold([(DeletionMessage(ref, "deleted", "e1"), "ackB")])
        assert [b.deleter._look(i) for i in items] == ["in_hub"]
        now.sleep(5)
        # meanwhile A handles the other copy entirely: recorded, told, confirmed, unmarked
        a.delete(ref, "ackA")
        assert a.queue.acked == ["ackA"] and a.ledger.untold(ref) == []
        # B goes on: its marker is written, its record write loses, it defers
        b.soft.delete_in_hub(items[0].project, items)
        assert b.queue.acked == [] and b.queue.deferred
        leftover = b.ledger.untold(ref)
        # B's message comes back later: told again from the leftover marker
        now.sleep(60)
        b.delete(ref, "ackB2")
        multi = {rid: sorted(x.decode() for x in bs) for rid, bs in told(publisher).items() if len(bs) > 1}
        assert not leftover and not multi, f"leftover marker {leftover}; one result_id, different bytes: {multi}"
