"""Client-side pacing: a burst is spread out so that no minute holds more than the limit."""
from __future__ import annotations

from hub_import.hub import Pacer


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_burst_is_spread_so_no_60_second_window_holds_more_than_the_limit():
    t = FakeTime()
    pacer = Pacer(100, clock=t.clock, sleep=t.sleep)
    times = []
    for _ in range(500):
        assert pacer.wait(deadline=float("inf"))
        times.append(t.now)
    for i, start in enumerate(times):
        in_window = sum(1 for x in times[i:] if x < start + 60)
        assert in_window <= 100
    # and it is not needlessly slow: 500 calls at 100 a minute take about 5 minutes
    assert times[-1] < 499 * 0.6 * 1.05


def test_retry_after_holds_every_caller():
    t = FakeTime()
    pacer = Pacer(100, clock=t.clock, sleep=t.sleep)
    pacer.wait(float("inf"))
    pacer.hold(30)
    pacer.wait(float("inf"))
    assert t.now >= 30


def test_a_slot_past_the_deadline_is_refused_without_waiting():
    t = FakeTime()
    pacer = Pacer(60, clock=t.clock, sleep=t.sleep)
    assert pacer.wait(deadline=10)
    assert not pacer.wait(deadline=0.5)
    assert t.now == 0


def test_zero_means_no_pacing():
    t = FakeTime()
    pacer = Pacer(0, clock=t.clock, sleep=t.sleep)
    for _ in range(1000):
        pacer.wait(float("inf"))
    assert t.now == 0
