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


def iso(t: float | str | datetime | None) -> str | None:
    """A moment as ISO 8601 UTC to the second ('2026-12-02T18:02:11Z'), the one form times take in
    the product's JSON: from epoch seconds, a datetime, or an ISO string in any zone; None as None,
    and other text as it is (a value the product cannot read is shown, not dropped)."""
    if t is None or t == "":
        return None
    try:
        if isinstance(t, datetime):
            moment = t if t.tzinfo else t.replace(tzinfo=timezone.utc)
        elif isinstance(t, (int, float)) and not isinstance(t, bool):
            moment = datetime.fromtimestamp(float(t), timezone.utc)
        else:
            moment = datetime.fromisoformat(str(t).replace("Z", "+00:00"))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(t)


def epoch(t: str | float | None) -> float | None:
    """Epoch seconds of an ISO time (or of epoch seconds); None when it cannot be read."""
    if t is None or t == "":
        return None
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        return float(t)
    try:
        moment = datetime.fromisoformat(str(t).replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
    except (TypeError, ValueError, OverflowError):
        return None
