"""Red team 5: a deletion is counted in the window when the guard admits it, and stays counted when
it is not carried out after all: the Hub's listing fails (Hub trouble), the turn's lookups run out,
its import's asset is not listed yet. It comes back and is counted again. So a short Hub outage
during an ordinary deletion of 6 files under a limit of 10 holds 2 of them (and alerts), though
not one deletion was carried out before them. Safe (never past the limit), but a false hold that
asks a person to approve what the limit allowed. Now the count of a deletion no DELETE was sent
for is given back (DeletionGuard.give_back)."""
from __future__ import annotations

from hub_import.core import clock
from hub_import.hub import HubError
from tests.unit.flush.test_deletion_guard import World, names
from tests.unit.flush.test_deletions_listing import VirtualClock


def test_deletions_retried_after_a_failed_lookup_are_not_held_under_the_limit():
    with clock.use(VirtualClock()) as now:
        world = World(limit=10)
        refs = list(world.imported(names(6)).values())
        real = world.hub.list_assets
        down = {"now": True}

        def list_assets(*args, **kwargs):
            if down["now"]:
                raise HubError("503 Service Unavailable", 503)
            return real(*args, **kwargs)
        world.hub.list_assets = list_assets
        # GIVEN 6 deletions whose lookup fails (the Hub answers 503): nothing carried out, they come back
        queue, _ = world.delete(refs)
        assert world.hub.deleted == [] and len(queue.deferred) == 6
        # WHEN they come back a minute later, the Hub well again
        down["now"] = False
        now.sleep(60)
        _, summary = world.delete(refs)
        # THEN all 6 are carried out: 6 deletions in the hour, under the limit of 10; none held
        assert summary.deletions_held == 0 and len(world.hub.deleted) == 6, \
            f"{summary.deletions_held} held, {len(world.hub.deleted)} deleted: 6 in the hour under a limit of 10"


def test_deletions_whose_delete_may_have_been_sent_stay_counted():
    with clock.use(VirtualClock()) as now:
        world = World(limit=10)
        refs = list(world.imported(names(6)).values())
        real = world.hub.soft_delete
        down = {"now": True}

        def soft_delete(*args, **kwargs):
            if down["now"]:
                raise HubError("503 Service Unavailable", 503)  # its outcome unknown: it may have landed
            return real(*args, **kwargs)
        world.hub.soft_delete = soft_delete
        # GIVEN 6 deletions whose DELETE was sent (their intent written) and failed: they come back
        queue, _ = world.delete(refs)
        assert len(queue.deferred) == 6
        # WHEN they come back beside 6 more deletions, the Hub well again
        down["now"] = False
        now.sleep(60)
        more = list(world.imported(names(6, start=100)).values())
        _, summary = world.delete(refs + more)
        # THEN the first 6 kept their count: 4 of the new ones are carried out, 2 held (10 in the hour)
        assert summary.deletions_held == 2 and len(world.hub.deleted) == 10, \
            f"{summary.deletions_held} held, {len(world.hub.deleted)} deleted"
