"""Red team 5, attempts that found nothing: a crash of `deletions --approve` between its mark and
its publish (the held record says approved, nothing queued) loses nothing (approve again queues
it, and the flush carries it out once); approve run twice carries each deletion out once."""
from __future__ import annotations

from hub_import.core import clock
from hub_import.ops import deletions
from tests.unit.flush.test_deletion_guard import World
from tests.unit.flush.test_deletions_listing import VirtualClock
from tests.unit.flush.test_result_messages import Publisher


def test_approve_killed_between_its_mark_and_its_publish_loses_nothing_when_run_again():
    with clock.use(VirtualClock()):
        world = World(limit=1)
        refs = world.imported(["a.png", "b.png", "c.png"])
        world.delete(refs.values())
        assert world.held_count() == 2
        # GIVEN an approve whose publishes all failed after it marked the records (a crash in between)
        report = deletions.approve(world.settings, world.store, Publisher(failing=True))
        assert report.failed == 2 and deletions.held(world.settings, world.store).approved == 2
        # WHEN it is run again (twice), and flushes take what it queued
        deletions.approve(world.settings, world.store, world.publisher)
        deletions.approve(world.settings, world.store, world.publisher)
        queue, _ = world.flush(world.approved_messages())
        # THEN both held deletions are carried out, each once; nothing is held
        assert world.hub.assets == [] and len(world.hub.deleted) == len(set(world.hub.deleted)) == 3
        assert world.held_count() == 0 and len(queue.acked) == 4
