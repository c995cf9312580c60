"""The local stack, started once per test session with the same launcher as `make up`."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from deploy.local import stack as local_stack
from tests.integration.flushing import STACK_FAULTS, every_switch_at_start

# The test stack: flushes on demand only, short leases so that crash recovery takes seconds.
# Deletions follow the bucket (ON_DELETE=delete), so that tests/integration/flush/test_deletions.py
# sees them through the bridge and the ingest function; no other test deletes a landing object,
# and the deletion events an overwrite raises are dropped by the ingest function (a live generation).
FLUSH_BUDGET_S = 5
HUB_TIMEOUT_S = 10
# The claim timeout, and the longest lease a flush gives a message it holds (hub_import/flush/turn.py claim_timeout_s)
LEASE_S = 2 * FLUSH_BUDGET_S + 10 + HUB_TIMEOUT_S
ACK_DEADLINE_S = 20
SETTINGS = {"HUB_BATCHES": "incoming", "HUB_CREATE_BATCHES": "true", "FLUSH_BUDGET_SECONDS": str(FLUSH_BUDGET_S),
            "HUB_SETTLE_SECONDS": "2", "HUB_TIMEOUT_SECONDS": str(HUB_TIMEOUT_S), "ON_DELETE": "delete",
            "HUB_ROUTES": '[{"prefix": "routed/", "batches": ["night"], "priority": 7}]'}


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The whole local stack (emulators, bridge, ingest function, Hub stand-in); its env applied."""
    state_dir = tmp_path_factory.mktemp("stack")
    saved = dict(os.environ)
    env = local_stack.up(state_dir, scheduler_every=None, ack_deadline_s=ACK_DEADLINE_S,
                         settings=SETTINGS,
                         hub_faults=STACK_FAULTS)
    os.environ.update(env)
    env["STATE_DIR"] = str(state_dir)
    yield env
    local_stack.down(state_dir)
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def every_switch_reset(request):
    """Every test that uses the stack starts, and leaves the stack, with every Hub switch as the stack
    started: no test inherits a switch another set and did not put back (nor a hand-written partial
    list of them)."""
    if "stack" not in request.fixturenames:
        yield
        return
    stack = request.getfixturevalue("stack")
    every_switch_at_start(stack)
    yield
    every_switch_at_start(stack)


@pytest.fixture
def landing(stack):
    from hub_import.core.clients import storage_client
    return storage_client().bucket(stack["LANDING_BUCKET"])


def pull_until(stack, predicate, count: int, timeout: float = 30, settle: float = 0.0,
               subscription: str | None = None) -> list:
    """Pull (and ack) the flush subscription until `count` messages satisfy `predicate`, then keep
    pulling `settle` seconds more so that messages that should not come get a chance to."""
    from hub_import.core.clients import subscriber_client

    sub = subscriber_client()
    path = sub.subscription_path(stack["GOOGLE_CLOUD_PROJECT"], subscription or stack["PUBSUB_SUBSCRIPTION"])
    found: list = []
    deadline = time.monotonic() + timeout
    settle_until = None
    while time.monotonic() < deadline:
        answer = sub.pull(subscription=path, max_messages=100, timeout=5)
        if answer.received_messages:
            sub.acknowledge(subscription=path, ack_ids=[m.ack_id for m in answer.received_messages])
        found += [m.message for m in answer.received_messages if predicate(m.message)]
        if len(found) >= count:
            settle_until = settle_until or time.monotonic() + settle
            if time.monotonic() >= settle_until:
                break
        else:
            time.sleep(0.1)
    return found


def ingest_lines(stack, prefix: str, message: str) -> list[dict]:
    """The ingest function's log lines about objects under `prefix` whose message starts with `message`."""
    lines = (Path(stack["STATE_DIR"]) / "ingest.log").read_text(errors="replace").splitlines()
    rows = [json.loads(line) for line in lines if line.startswith("{") and prefix in line]
    return [r for r in rows if r.get("message", "").startswith(message)]


def wait_for_ingest(stack, prefix: str, message: str, count: int, timeout: float = 60) -> list[dict]:
    """Wait until the ingest function has logged `count` such lines (it logs after it publishes,
    so a pulled message can come before its line), and return them."""
    deadline = time.monotonic() + timeout
    while len(ingest_lines(stack, prefix, message)) < count:
        assert time.monotonic() < deadline, (message, len(ingest_lines(stack, prefix, message)), count)
        time.sleep(0.2)
    return ingest_lines(stack, prefix, message)
