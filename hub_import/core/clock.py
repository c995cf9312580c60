"""The product's one clock: wall time, a monotonic clock and sleep, read through this module.

Every reading of time in the package goes through here, so that the deterministic simulation
(tests/simulation) can run the real code on a virtual clock: `use(clock)` swaps it in, and its
`sleep` advances virtual time instead of waiting."""
from __future__ import annotations

import time as _time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator, Protocol


class Clock(Protocol):
    def time(self) -> float: ...
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The machine's clocks, as deployed."""

    time = staticmethod(_time.time)
    monotonic = staticmethod(_time.monotonic)
    sleep = staticmethod(_time.sleep)


_current: Clock = SystemClock()


def now() -> float:
    """Wall time, seconds since the epoch (time.time())."""
    return _current.time()


def monotonic() -> float:
    return _current.monotonic()


def sleep(seconds: float) -> None:
    _current.sleep(seconds)


def time_ns() -> int:
    return int(_current.time() * 1_000_000_000)


def utcnow() -> datetime:
    return datetime.fromtimestamp(_current.time(), timezone.utc)


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Run the product on `clock` inside the block (not thread-local: the simulation's actors share it)."""
    global _current
    before, _current = _current, clock
    try:
        yield clock
    finally:
        _current = before


def iso_utc(t: float | None) -> str | None:
    """Wall time `t` (seconds since the epoch) as ISO 8601 in UTC, with a Z: what every --json and
    every time shown to a person says (None for None)."""
    if t is None:
        return None
    return datetime.fromtimestamp(float(t), timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
