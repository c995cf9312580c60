"""The simulation's virtual clock and the one process-wide switchboard of faults (`Io`).

`VirtualClock` is what the product's clock seam (hub_import.core.clock.use) runs on: `sleep`
advances virtual time at once, running the timers that fall due on the way (a slow commit the
Hub stand-in stores later, a Pub/Sub lease running out). `Io` is asked by every fake before each
call it serves: it counts the call, kills the current process there when the scheduler chose that
call (`Crash`), and draws the faults of the step's fault plan from the step's own seeded dice."""
from __future__ import annotations

import heapq
import random
import threading
from typing import Callable

START_WALL = 1_790_000_000.0  # 2026-09-21, a fixed wall time: every history starts here
CALL_COST_S = 0.002  # virtual time one fake call takes, so that no two writes share a timestamp


class Crash(BaseException):
    """The process running the product is killed here (a BaseException: nothing in the product
    catches it, as nothing catches SIGKILL). Sticky: every later call of the same process raises
    again, so a finally block or an `except BaseException: ...; raise` does nothing more."""


class VirtualClock:
    """hub_import.core.clock.Clock on virtual time, with timers."""

    def __init__(self, start: float = START_WALL):
        self._wall0, self._mono = start, 0.0
        self._timers: list = []
        self._seq = 0

    def time(self) -> float:
        return self._wall0 + self._mono

    def monotonic(self) -> float:
        return 1000.0 + self._mono

    baton = None  # the scheduler while two actors run at once (scheduler.py): their sleeps are its

    def sleep(self, seconds: float) -> None:
        """Time passes for the caller: at once when it runs alone; under a baton, the caller waits
        while the other actors run, and the clock moves on only when nobody can run."""
        seconds = max(0.0, float(seconds))
        if self.baton is not None and self.baton.mine():
            self.baton.sleep(seconds)
        else:
            self.advance(seconds)

    def advance(self, seconds: float) -> None:
        target = self._mono + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, fn = heapq.heappop(self._timers)
            self._mono = max(self._mono, when)
            fn()
        self._mono = target

    def later(self, delay_s: float, fn: Callable[[], object]) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (self._mono + max(0.0, delay_s), self._seq, fn))

    def pending_timers(self) -> int:
        return len(self._timers)


class Plan:
    """One process's dice: its fault rates, the call it is killed at, what it has counted."""

    def __init__(self, seed: int, rates: dict[str, float], crash_at: int | None, process: str):
        self.rng, self.rates, self.crash_at, self.process = random.Random(seed), dict(rates), crash_at, process
        self.calls, self.crashed = 0, None
        self.stall_at, self.stall_s = None, 0.0  # the process freezes this long at its stall_at-th call


class Io:
    """Every fake's call goes through `call(kind)`: it costs CALL_COST_S, may kill the process
    (the plan's `crash_at`-th call), and returns whether a fault of `kind` strikes it (dice of
    the plan's rate for that kind). `quiet()` turns every fault off (running to rest).

    The plan is the running process's: under a baton (scheduler.py) each actor has its own, swapped
    in with the baton, and each call is first a point where the baton may pass to another actor."""

    def __init__(self, clock: VirtualClock):
        self.clock = clock
        self.baton = None
        self.pending_stall: tuple | None = None
        self.quiet()

    def plan(self, seed: int, rates: dict[str, float], crash_at: int | None = None, process: str = "") -> None:
        self.current = Plan(seed, rates, crash_at, process)
        if self.pending_stall and self.pending_stall[0] is threading.current_thread():
            self.current.stall_at, self.current.stall_s = self.pending_stall[1:]

    def stall_next(self, at: int, seconds: float) -> None:
        """The calling thread's process (its plan now, or the one it makes next) freezes `seconds`
        at its `at`-th call."""
        self.pending_stall = (threading.current_thread(), at, seconds)
        self.current.stall_at, self.current.stall_s = at, seconds

    def quiet(self) -> None:
        self.plan(0, {}, None, "")

    @property
    def rng(self) -> random.Random:
        return self.current.rng

    def call(self, kind: str) -> bool:
        if self.baton is not None and self.baton.mine():
            self.baton.pause()
        p = self.current
        self.clock.advance(CALL_COST_S)
        p.calls += 1
        if p.crashed is None and p.crash_at is not None and p.calls >= p.crash_at:
            p.crashed = f"{p.process} killed at call {p.calls} ({kind})"
        if p.crashed:
            raise Crash(p.crashed)
        if p.calls == p.stall_at:
            self.clock.sleep(p.stall_s)
        rate = p.rates.get(kind, 0.0)
        return rate > 0 and p.rng.random() < rate

    def choice(self, options):
        return self.current.rng.choice(options)
