"""Progress of a long command (backfill, audit) on a person's terminal.

A tqdm bar where the CLI is installed; a plain line every few seconds where tqdm is not. tqdm is
the CLI's package (requirements-cli.txt), not the functions': the artifact carries ops/ without
it, so it is imported here, lazily, and only for a terminal.
"""
from __future__ import annotations

import sys

from hub_import.core import clock


def on_terminal(stream) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


class Progress:
    """`update(done, line, **postfix)`: the bar moves to `done` (of `total`, when known), or, without
    tqdm, `line` is printed every `every_s` seconds, and once `done` reaches `total`. `terminal_only`: say nothing at all unless the
    stream is a terminal (audit's progress is for a person watching; a cron job's log stays clean)."""

    def __init__(self, total: int | None, stream=None, every_s: float = 5.0, unit: str = "obj",
                 terminal_only: bool = False):
        self.stream = stream or sys.stderr
        self.tty = on_terminal(self.stream)
        self.silent = terminal_only and not self.tty
        self.started = self.last = clock.monotonic()
        self.every_s = every_s
        self.bar = None
        if self.tty:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=total, unit=unit, file=self.stream, dynamic_ncols=True)

    def update(self, done: int, line: str, total: int | None = None, **postfix) -> None:
        if self.silent:
            return
        if self.bar is not None:
            if total is not None and self.bar.total != total:
                self.bar.total = total
            self.bar.n = done
            if postfix:
                self.bar.set_postfix(refresh=False, **postfix)
            self.bar.refresh()
            return
        now = clock.monotonic()
        if now - self.last >= self.every_s or (total is not None and done >= total):  # and the last
            self.last = now
            print(line, file=self.stream, flush=True)

    def rate(self, done: int) -> float:
        return done / max(clock.monotonic() - self.started, 1e-9)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
