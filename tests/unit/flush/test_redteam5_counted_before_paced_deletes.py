"""Red team 5 (found, then fixed: DeletionWindow.take counts in the minute of the flush's deadline,
plus the Hub's timeout and CLOCK_MARGIN_S).
The window counted a deletion when it was taken on, at the start of the flush's work, but the
DELETE is sent later in the same flush, after the lookups at the Hub's pace (minutes, for a full
hour's worth). The count leaves the window an hour after it was taken, not an hour after the
DELETE: the next flush gets a full hour's allowance while the earlier DELETEs are less than an hour
old, so more than MAX_DELETIONS_PER_HOUR are carried out in one 60-minute window. A clock a few
seconds ahead on the next flush's instance does the same without any pacing."""
from __future__ import annotations

from hub_import.core import clock
from hub_import.flush.turn import Turn
from tests.unit.flush import test_deletion_guard as guard_world
from tests.unit.flush.test_deletion_guard import World, names
from tests.unit.flush.test_deletions_listing import VirtualClock

LIMIT = 10


class StartedTurn(Turn):
    """A flush's turn whose clock is started, as Flush starts it: no Hub call after its deadline."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline = clock.monotonic() + 540.0


def most_in_an_hour(log: list[tuple[float, int]]) -> int:
    return max(sum(n for t, n in log if start <= t < start + 3600) for start, _ in log)


def recording(world: World, lookup_s: float) -> list[tuple[float, int]]:
    """Each DELETE's time and size; each listing call takes `lookup_s[0]` seconds (the Hub's pace)."""
    done: list[tuple[float, int]] = []
    real_delete, real_list = world.hub.soft_delete, world.hub.list_assets

    def soft_delete(project, asset_ids, *, deadline=None):
        done.append((clock.now(), len(asset_ids)))
        real_delete(project, asset_ids, deadline=deadline)

    def list_assets(*args, **kwargs):
        clock.sleep(lookup_s[0])
        return real_list(*args, **kwargs)
    world.hub.soft_delete, world.hub.list_assets = soft_delete, list_assets
    return done


def test_deletions_sent_minutes_after_they_were_counted_keep_the_limit_over_every_hour(monkeypatch):
    monkeypatch.setattr(guard_world, "Turn", StartedTurn)  # each flush's clock started: a 9-minute budget
    with clock.use(VirtualClock(start=1_764_000_000.0)) as now:
        world = World(limit=LIMIT)
        refs = list(world.imported(names(2 * LIMIT)).values())
        pace = [300.0]  # the lookups take 5 minutes (the Hub's pace): the DELETE goes 5 minutes after the count
        done = recording(world, pace)
        world.delete(refs[:LIMIT])
        first = done[0][0]
        # WHEN the next folder is deleted 59:59 after the first DELETE (a fast Hub now)
        pace[0] = 0.0
        now.t = first + 3599
        world.delete(refs[LIMIT:])
        # THEN no 60-minute window holds more than LIMIT deletions carried out
        assert most_in_an_hour(done) <= LIMIT, \
            f"{most_in_an_hour(done)} deleted within {done[-1][0] - first:.0f} s (limit {LIMIT} an hour)"


def test_a_flush_whose_clock_is_two_seconds_ahead_does_not_exceed_the_limit():
    with clock.use(VirtualClock(start=1_764_000_059.5)) as now:  # the last half second of a minute
        world = World(limit=LIMIT)
        refs = list(world.imported(names(2 * LIMIT)).values())
        done = recording(world, [0.0])
        world.delete(refs[:LIMIT])
        # WHEN 3,599 s later (true time) a flush on an instance whose clock is 2 s ahead takes the next folder
        now.t += 3599 + 2
        world.delete(refs[LIMIT:])
        true_times = [(t, n) for t, n in done[:1]] + [(t - 2, n) for t, n in done[1:]]
        # THEN no true 60-minute window holds more than LIMIT
        assert most_in_an_hour(true_times) <= LIMIT, f"{most_in_an_hour(true_times)} deleted within one hour"
