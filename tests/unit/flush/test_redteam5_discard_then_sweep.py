"""Red team 5: `deletions --discard` says "keep the assets", but the ledger is untouched (it still
says sent) and the object is gone, so the next `sweep --deletions` (by hand or on its schedule)
finds the record, queues its deletion again as a fresh one, and the guard carries it out once the
hour has room: the discarded assets were soft-deleted after all, nobody approving. Now a discard
records the generation kept, and a deletion of it queued again deletes nothing."""
from __future__ import annotations

from types import SimpleNamespace

from hub_import.core import clock
from hub_import.core.messages import decode_message
from hub_import.ops import deletions
from hub_import.ops.deletion_sweep import sweep_deletions
from tests.unit.flush.test_deletion_guard import World, names
from tests.unit.flush.test_deletions_listing import VirtualClock


class Storage:
    """The landing bucket as sweep lists it (world.live: name -> generation)."""

    def __init__(self, live):
        self.live = live

    def bucket(self, name):
        return SimpleNamespace(list_blobs=lambda **kw: [SimpleNamespace(name=n) for n in self.live])


def test_a_discarded_deletion_is_not_carried_out_by_the_next_deletion_sweep():
    with clock.use(VirtualClock()) as now:
        # GIVEN 5 files deleted under a limit of 3: 2 held, and a person discards them (keep the assets)
        world = World(limit=3)
        world.settings.landing_bucket = "landing"
        refs = world.imported(names(5))
        world.delete(refs.values())
        kept = {a["externalId"] for a in world.hub.assets}
        assert len(kept) == 2
        assert deletions.discard(world.settings, world.store).done == 2
        # WHEN, two hours later, the scheduled `sweep --deletions` runs and a flush takes what it queued
        now.sleep(2 * 3600)
        report = sweep_deletions(world.settings, world.store, Storage(world.live), world.publisher)
        queued = [decode_message(d) for _, d, _ in world.publisher.sent]
        world.publisher.sent.clear()
        world.flush(queued)
        # THEN the discarded assets are still in the Hub (discard "keeps the assets")
        assert {a["externalId"] for a in world.hub.assets} == kept, \
            f"sweep queued {report.queued} discarded deletions again; the flush deleted {world.hub.deleted[3:]}"
