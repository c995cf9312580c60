"""Red team 6: a discarded deletion is kept (kept-deletions/): "a deletion of it queued again (a
duplicate delivery, `sweep --deletions`) is acked as discarded, never carried out"
(state/held_deletions.py). But the guard asks for kept deletions only under a limit
(`if self.limit`): once MAX_DELETIONS_PER_HOUR is set to 0 (the limit turned off after the
incident that tripped it, the held ones discarded), a duplicate delivery of a discarded deletion
(Eventarc and Pub/Sub deliver at least once; a `replay --dead-letters` of it) soft-deletes the assets
a person chose to keep. (`sweep --deletions` reads the kept document itself, limit or not.)
Fix (here): the guard reads the kept document whatever the limit (one read per deletion of an
object in the Hub), as deletion_sweep.py does. (No network: the harness of tests/unit/flush/test_deletion_guard.py.)"""
from __future__ import annotations

from hub_import.core import clock
from hub_import.core.messages import DeletionMessage
from hub_import.ops import deletions
from tests.unit.flush.test_deletion_guard import World, names
from tests.unit.flush.test_deletions_listing import VirtualClock


def test_a_discarded_deletion_delivered_again_deletes_nothing_once_the_limit_is_off():
    with clock.use(VirtualClock()) as now:
        # GIVEN 5 files deleted under a limit of 3: 2 held, and a person discards them (keep the assets)
        world = World(limit=3)
        refs = world.imported(names(5))
        messages = [DeletionMessage(r, "deleted", f"e-{r.name}") for r in refs.values()]
        world.flush(messages)
        kept = {a["externalId"] for a in world.hub.assets}
        assert len(kept) == 2 and deletions.discard(world.settings, world.store).done == 2
        # WHEN the limit is turned off, and the same deletions are delivered again (at least once)
        world.settings.max_deletions_per_hour = 0
        now.sleep(3600)
        world.flush(messages)
        # THEN the kept assets are still in the Hub
        assert {a["externalId"] for a in world.hub.assets} == kept
