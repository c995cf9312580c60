"""Log lines as Cloud Logging reads them: one JSON object a line, `severity`, `message`, fields.

Nothing here runs at import time; `setup()` installs the formatter, and entry points call it.
Fields go in through `extra={"fields": {...}}`; `log()` is the short form.
"""
from __future__ import annotations

import json
import logging
import sys

from .text import json_for_terminal


class JsonFormatter(logging.Formatter):
    """One JSON object per record: severity, message, logger, and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"severity": record.levelname, "message": record.getMessage(), "logger": record.name}
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        # Names and messages others wrote reach a terminal this way too (the CLI logs to its standard
        # error): what json leaves as it is and a terminal would act on goes as a \u escape.
        return json_for_terminal(json.dumps(line, default=str, ensure_ascii=False))


class _StdHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout (or sys.stderr) is at the time: functions-framework and
    tests swap them."""

    def __init__(self, name: str = "stdout"):
        self._which = name
        super().__init__(getattr(sys, name))

    @property
    def stream(self):
        return getattr(sys, self._which)

    @stream.setter
    def stream(self, value):
        pass


def setup(level: int | str = logging.INFO, stream=None) -> None:
    """Send the package's records to standard output (or sys.stderr, as `stream`) as JSON lines.
    Idempotent."""
    root = logging.getLogger("hub_import")
    root.setLevel(level)
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = _StdHandler("stderr" if stream is sys.stderr else "stdout")
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        root.propagate = False


def log(logger: logging.Logger, level: int, message: str, **fields) -> None:
    """Log `message` with structured `fields` (ids, counts, reasons)."""
    logger.log(level, message, extra={"fields": fields})
