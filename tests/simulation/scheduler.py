"""Two actors truly at once, and still deterministic: a baton.

Each actor (a flush, `replay --failed`, `audit --fix`, `backfill`: the world's own step functions)
runs in a thread of its own, but exactly one thread runs at a time: the one holding the baton.
Every fake call (`Io.call`: GCS, Pub/Sub, the Hub adapter) and every sleep on the virtual clock is
a point where the holder asks the baton who runs next; the baton's dice (seeded by the step) pick
one of the actors that can run, and every other waits on its own threading.Event. So the order of
all calls is the seed's alone, whatever the threads' timing.

Time, under two actors: a sleep is the sleeper's alone. It wakes at now + seconds and cannot run
before; the others run meanwhile (their calls cost CALL_COST_S each on the shared clock). When
nobody can run, the clock moves on to the first wake-up, running the timers due on the way (a
slow commit landing, a lease running out). A flush slowed by Hub latency thus really is overtaken
by another flush's calls, and a lease it holds can run out while it waits.

Each actor has its own fault plan (`Io.current`, swapped with the baton): its own dice, its own
call count, its own `crash_at`."""
from __future__ import annotations

import random
import threading
from typing import Callable

from .clock import Crash, Io, VirtualClock

STUCK_S = 120.0  # real seconds: two actors that have not finished by then are a bug of the scheduler


class _Actor:
    def __init__(self, name: str, fn: Callable[[], object], plan):
        self.name, self.fn, self.plan = name, fn, plan
        self.go = threading.Event()
        self.wake = 0.0  # monotonic: asleep until then
        self.done = False
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None


class Baton:
    def __init__(self, clock: VirtualClock, io: Io, seed: int):
        self.clock, self.io = clock, io
        self.rng = random.Random(seed)
        self.actors: list[_Actor] = []
        self.running: _Actor | None = None
        self.finished = threading.Event()
        self.passes = 0  # how often the baton went to another actor (the report's, and tests')

    # -- the actors' side ------------------------------------------------------------------
    def mine(self) -> bool:
        """Whether the calling thread is the running actor (else: the world itself, or a timer)."""
        r = self.running
        return r is not None and r.thread is threading.current_thread()

    def pause(self) -> None:
        """A yield point: maybe another actor runs now."""
        self._switch(self.running)

    def sleep(self, seconds: float) -> None:
        me = self.running
        me.wake = self.clock.monotonic() + seconds
        self._switch(me)

    # -- the world's side ------------------------------------------------------------------
    def run(self, steps: list[tuple[str, Callable[[], object]]]) -> list[str]:
        """Run `steps` (name, function) at once until every one has ended; returns how each ended.
        A Crash ends its own actor only; any other error escaping an actor is raised here."""
        for name, fn in steps:
            self.io.quiet()
            self.actors.append(_Actor(name, fn, self.io.current))
        self.clock.baton = self.io.baton = self
        try:
            for a in self.actors:
                a.thread = threading.Thread(target=self._body, args=(a,), name=f"sim-{a.name}", daemon=True)
                a.thread.start()
            self._give(self._next())
            if not self.finished.wait(STUCK_S):
                raise RuntimeError(f"simulation scheduler stuck: {[(a.name, a.done) for a in self.actors]}")
            for a in self.actors:
                a.thread.join()
        finally:
            self.clock.baton = self.io.baton = None
            self.running = None
            self.io.pending_stall = None
            self.io.quiet()
        for a in self.actors:
            if a.error is not None and not isinstance(a.error, Crash):
                raise a.error
        return [f"{a.name}: {'killed' if a.error else 'ended'}" for a in self.actors]

    # -- the baton ---------------------------------------------------------------------------
    def _body(self, me: _Actor) -> None:
        me.go.wait()
        me.go.clear()
        try:
            me.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the world's thread (run)
            me.error = exc
        finally:
            me.done = True
            nxt = self._next()
            if nxt is None:
                self.running = None
                self.finished.set()
            else:
                self._give(nxt)

    def _next(self) -> _Actor | None:
        """Who runs next: by the dice among those awake; when all sleep, the clock moves on to the
        first wake-up (running the timers due on the way)."""
        alive = [a for a in self.actors if not a.done]
        if not alive:
            return None
        now = self.clock.monotonic()
        ready = [a for a in alive if a.wake <= now]
        if not ready:
            first = min(a.wake for a in alive)
            self.clock.advance(max(0.0, first - now))
            ready = [a for a in alive if a.wake <= first]
        return ready[0] if len(ready) == 1 else self.rng.choice(ready)

    def _give(self, nxt: _Actor) -> None:
        self.running = nxt
        self.io.current = nxt.plan
        nxt.go.set()

    def _switch(self, me: _Actor) -> None:
        nxt = self._next()
        if nxt is me:
            return
        self.passes += 1
        me.plan = self.io.current
        self._give(nxt)
        me.go.wait()
        me.go.clear()
