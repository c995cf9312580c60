"""Client-side pacing at the Hub's rate limit."""
from __future__ import annotations

import threading
from hub_import.core import clock
from typing import Callable


class Pacer:
    """Spaces calls evenly at `per_minute` (0: no pacing), for every thread of the process.

    Even spacing, with a small margin, never puts more than `per_minute` calls in any
    60-second window, whether the Hub counts in fixed or sliding windows.
    """

    def __init__(self, per_minute: float, margin: float = 0.02,
                 clock: Callable[[], float] = clock.monotonic, sleep: Callable[[float], None] = clock.sleep):
        self.interval = 60.0 / per_minute * (1 + margin) if per_minute else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, deadline: float) -> bool:
        """Take the next slot and sleep until it. False, taking nothing, if it is past `deadline`."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            if slot > deadline:
                return False
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)
        return True

    def hold(self, seconds: float) -> None:
        """No call before `seconds` from now (the Hub said Retry-After, or backed us off)."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)
