"""Red team 5 (found, then fixed in deletion_guard.admit).
A deletion whose DELETE was sent (its intent written) and failed is counted in the
window once, when first taken on; when it comes back, `admit` lets it go without counting it again.
After a Hub outage longer than the hour, its count has left the window: the retries AND a full
hour's worth of fresh deletions are carried out together, twice MAX_DELETIONS_PER_HOUR in one
minute with nobody approving."""
from __future__ import annotations

from hub_import.core import clock
from hub_import.core.messages import DeletionMessage
from hub_import.hub import HubError
from tests.unit.flush.test_deletion_guard import World, names
from tests.unit.flush.test_deletions_listing import VirtualClock

LIMIT = 10


def carried_out_per_hour(log: list[tuple[float, int]]) -> int:
    """The most assets soft-deleted in any 60-minute window."""
    return max(sum(n for t, n in log if start <= t < start + 3600) for start, _ in log)


def test_deletions_retried_after_an_hour_long_hub_outage_still_count_against_the_limit():
    with clock.use(VirtualClock()) as now:
        world = World(limit=LIMIT)
        refs = list(world.imported(names(2 * LIMIT)).values())
        done: list[tuple[float, int]] = []
        real = world.hub.soft_delete
        down = {"now": True}

        def soft_delete(project, asset_ids, *, deadline=None):
            if down["now"]:
                raise HubError("503 Service Unavailable", 503)
            done.append((clock.now(), len(asset_ids)))
            real(project, asset_ids, deadline=deadline)
        world.hub.soft_delete = soft_delete
        # GIVEN folder A (LIMIT files) deleted while the Hub's DELETE answers 503: counted, intents written, deferred
        messages_a = [DeletionMessage(r, "deleted", f"e-{r.name}") for r in refs[:LIMIT]]
        queue, _ = world.flush(messages_a)
        assert world.hub.deleted == [] and len(queue.deferred) == LIMIT
        # WHEN the Hub is back after 70 minutes, and folder B (LIMIT more) is deleted: one pull takes both
        now.sleep(70 * 60)
        down["now"] = False
        messages_b = [DeletionMessage(r, "deleted", f"e-{r.name}") for r in refs[LIMIT:]]
        world.flush(messages_a + messages_b)
        # THEN at most LIMIT are carried out in any hour; the rest are held for a person
        assert carried_out_per_hour(done) <= LIMIT, f"{len(world.hub.deleted)} deleted within a minute, limit {LIMIT}"
