"""The points where the crash tests kill a flush (FLUSH_CRASH_AT=<step>): between two writes whose
order keeps an object once, so that a test can show a crash there loses and doubles nothing."""
from __future__ import annotations

import os
import signal


def crash_point(step: str) -> None:
    """Fault injection for the crash tests: FLUSH_CRASH_AT=<step> kills this process there."""
    if os.environ.get("FLUSH_CRASH_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)
