"""Red team 5 (found, then fixed in deletion_guard.admit).
The deleter folds every message of a name into one item, and one message with source
"approved" makes the whole item approved. An approved item whose held record is gone is taken as
discarded: acked, nothing done. So a real deletion pulled together with a stale approved message of
the same name (approve, then discard, then the name uploaded again and deleted), or with a forged
one (anyone who can publish), is acked and lost: the file is gone, its asset stays in the Hub, and
nothing is held or queued."""
from __future__ import annotations

from hub_import.core import clock
from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.ops import deletions
from tests.unit.flush.test_deletion_guard import World
from tests.unit.flush.test_deletions_listing import VirtualClock


def test_a_deletion_pulled_with_a_stale_approval_of_its_name_is_not_lost():
    with clock.use(VirtualClock()) as now:
        # GIVEN b.png's deletion held (limit 1), approved (its message queued), then discarded
        world = World(limit=1)
        refs = world.imported(["a.png", "b.png"])
        world.delete(refs.values())
        [b] = [a["externalId"] for a in world.hub.assets]
        deletions.approve(world.settings, world.store, world.publisher)
        stale = world.approved_messages()
        deletions.discard(world.settings, world.store)
        # AND later b.png uploaded again (its asset stays: the URL shows the new content), then deleted
        now.sleep(2 * 3600)
        fresh = DeletionMessage(ObjectRef("landing", b, 2), "deleted", "e-b-2")
        # WHEN one pull takes the real deletion together with the stale approved message
        queue, summary = world.flush(stale + [fresh])
        # THEN the real deletion is carried out (the hour has room), or at least held; never acked with nothing done
        assert world.hub.assets == [] or world.held_count() == 1, \
            f"acked {len(queue.acked)} messages; asset {b} stays in the Hub, nothing held, nothing queued"


def test_a_forged_approval_published_beside_a_real_deletion_does_not_cancel_it():
    with clock.use(VirtualClock()):
        world = World(limit=10)
        [ref] = world.imported(["c.png"]).values()
        real = DeletionMessage(ref, "deleted", "e-c")
        forged = DeletionMessage(ref, "deleted", "forged", source="approved")
        queue, _ = world.flush([real, forged])
        assert world.hub.assets == [] or world.held_count() == 1, "the real deletion was acked with nothing done"
