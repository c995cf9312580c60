"""backfill's progress on a terminal: tqdm's bar where the CLI is installed, and plain lines where
tqdm is not (it is the CLI's package, not the functions': the artifact carries ops/ without it)."""
from __future__ import annotations

import io
import sys

from hub_import.ops.backfill import BackfillReport, Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_without_tqdm_progress_is_reported_in_plain_lines(monkeypatch):
    # GIVEN a terminal, and no tqdm installed (None in sys.modules makes its import fail)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    terminal = Terminal()
    # WHEN a backfill reports its progress
    progress = Progress(total=10, stream=terminal, every_s=0)
    progress.update(BackfillReport(listed=7, queued=5, skipped=2))
    progress.close()
    # THEN it is told in a plain line instead of failing for want of a progress bar
    assert "backfill: 7 listed, 5 queued, 2 skipped" in terminal.getvalue()
