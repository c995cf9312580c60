"""Red team 5 (found, then fixed in deletion_guard.admit).
A held deletion is only a document; a fresh message of the same deletion (Pub/Sub's
at-least-once redelivery, Eventarc's duplicate, or the redelivery after a crash between the hold
and the ack) is not checked against it. Once the hour has room it is carried out, nobody having
approved it, and its held record stays behind: `deletions` and `status` still show it held."""
from __future__ import annotations

from hub_import.core import clock
from hub_import.core.messages import DeletionMessage
from hub_import.ops import deletions
from tests.unit.flush.test_deletion_guard import World
from tests.unit.flush.test_deletions_listing import VirtualClock


def test_a_held_deletion_delivered_again_after_the_hour_stays_held():
    with clock.use(VirtualClock()) as now:
        # GIVEN b.png's deletion held (limit 1)
        world = World(limit=1)
        refs = world.imported(["a.png", "b.png"])
        world.delete(refs.values())
        [b] = [a["externalId"] for a in world.hub.assets]
        assert world.held_count() == 1
        # WHEN its message is delivered again two hours later (a duplicate delivery)
        now.sleep(2 * 3600)
        world.flush([DeletionMessage(refs[b], "deleted", f"e-{b}")])
        # THEN it is still held for a person: not deleted, and what `deletions` shows is true
        assert [a["externalId"] for a in world.hub.assets] == [b], \
            f"deleted without approval; `deletions` still says {deletions.held(world.settings, world.store).count} held"
