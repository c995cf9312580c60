"""Where the simulation plugs into the product's real code, all in one place, for one history:
the product's clock (hub_import.core.clock.use), its Google clients (the lru-cached factories in
hub_import.core.clients, and the name messages.py imported), the thread pools of the flush,
backfill, trace and the sweep (one synchronous executor: one thread, so the order of every fake call is the
seed's alone), and a handler on the `hub_import` logger that keeps every line (the judge reads them)."""
from __future__ import annotations

import logging
from concurrent.futures import Future
from contextlib import ExitStack, contextmanager
from unittest import mock

from hub_import.core import clock as product_clock

from .clock import Crash


class InlineExecutor:
    """concurrent.futures' executor contract, run in the caller's thread. An Exception is kept in
    its future (as a pool does); a Crash goes straight up: the process is dead."""

    def __init__(self, *args, **kwargs):
        pass

    def submit(self, fn, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Crash:
            raise
        except Exception as exc:  # noqa: BLE001 - as a pool keeps it
            future.set_exception(exc)
        return future

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        futures = [self.submit(fn, *args) for args in zip(*iterables)]
        return (f.result() for f in futures)

    def shutdown(self, wait=True, **kwargs) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


class Capture(logging.Handler):
    """Every record of the package's logger, formatted as the product formats it, fields included."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.records: list[tuple[str, dict]] = []  # (message, its structured fields) for the judge

    def emit(self, record: logging.LogRecord) -> None:
        fields = {k: v for k, v in vars(record).items() if k not in _PLAIN}
        self.records.append((record.getMessage(), dict(fields.get("fields") or {})))
        self.lines.append(f"{record.levelname} {record.name} {record.getMessage()} {fields!r} "
                          f"{record.exc_text or ''}")


_PLAIN = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


@contextmanager
def product_on(world):
    """Run the product inside `world` for the duration of the block."""
    with ExitStack() as stack:
        stack.enter_context(product_clock.use(world.clock))
        for target in ("hub_import.core.clients.storage_client", ):
            stack.enter_context(mock.patch(target, lambda: world.gcs))
        for target in ("hub_import.core.clients.publisher_client", "hub_import.core.messages.publisher_client",
                       "hub_import.core.clients.subscriber_client"):
            stack.enter_context(mock.patch(target, lambda: world.pubsub))
        for module in ("hub_import.flush.run", "hub_import.ops.backfill", "hub_import.ops.trace", "hub_import.ingest.sweep"):
            stack.enter_context(mock.patch(f"{module}.ThreadPoolExecutor", InlineExecutor))
        logger = logging.getLogger("hub_import")
        level, logger.level = logger.level, logging.DEBUG
        logger.addHandler(world.log)
        stack.callback(logger.removeHandler, world.log)
        stack.callback(setattr, logger, "level", level)
        yield world
