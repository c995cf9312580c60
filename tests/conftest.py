"""Fixtures shared by every tier: the Hub stand-in, started for real on a free port."""
from __future__ import annotations

import logging
import os
import secrets

import pytest

from deploy.local.processes import start_hub_standin

PROJECT = "demo-project"
STORAGE = "demo-storage"
BATCH = "incoming"


@pytest.fixture(autouse=True)
def _package_logger_as_it_was():
    """The package's logger as each test found it: the CLI's main() and main.py set its level and
    handlers (logs.setup) for the rest of the process, and a test that ran the CLI in-process then
    hid INFO lines from a later test on the same worker (a flake that depended on xdist's order)."""
    logger = logging.getLogger("hub_import")
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers
    logger.propagate = propagate


@pytest.fixture
def api_key() -> str:
    """A fresh key per test, so a test can look for it in everything the code printed."""
    return "test-key-" + secrets.token_hex(8)


@pytest.fixture
def hub_factory(tmp_path, api_key):
    """Start Hub stand-ins (rate limit lifted unless a test sets faults); all stopped at the end."""
    started = []

    def start(faults: dict | None = None, data_dir=None, **kwargs):
        hub = start_hub_standin(data_dir or tmp_path / "hub", api_key, state_dir=tmp_path,
                                projects=(PROJECT,), storages=(STORAGE,), batches=(f"{PROJECT}:{BATCH}",),
                                faults={"rate_limit_per_minute": 0, **(faults or {})}, seed=7,
                                name=f"hub{len(started)}", **kwargs)
        started.append(hub)
        return hub

    yield start
    for hub in started:
        hub.stop()


@pytest.fixture
def hub(hub_factory):
    """One Hub stand-in with a project, a storage integration and a batch, and no faults."""
    return hub_factory()


def pytest_collection_modifyitems(config, items):
    """`make test` leaves the soak-marked tests to `make soak` (SOAK=1), to stay under 20 minutes."""
    if os.environ.get("SOAK"):
        return
    skip = pytest.mark.skip(reason="a soak test: `make soak` runs it")
    for item in items:
        if item.get_closest_marker("soak"):
            item.add_marker(skip)
