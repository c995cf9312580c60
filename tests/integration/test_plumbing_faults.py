"""Our own plumbing fails too: GCS answers 503 (before or after applying a write) and Pub/Sub
loses acks. On the local stack, judged by what the Hub stand-in holds: nothing lost, nothing twice."""
from __future__ import annotations

import uuid

import pytest

from deploy.local import gcs_fault_proxy
from tests.integration.flushing import assert_once, flush_until_idle, held, publish, refs


@pytest.fixture(scope="module")
def gcs_proxy(stack):
    """The fault proxy in front of the stack's fake-gcs-server; the flushes of these tests reach
    GCS through it (STORAGE_EMULATOR_HOST), everything else goes straight to the emulator."""
    proxy = gcs_fault_proxy.start(stack["GCS_DIRECT_HOST"], state_dir=stack["STATE_DIR"],
                                  faults={"only": "conditional", "seed": 11})
    yield proxy
    proxy.stop()


def run_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}/"


def report(name: str, **counts) -> None:
    """The counts a test measured, printed for `pytest -s` and the issue's closing note."""
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in counts.items()))


def test_conditional_writes_answered_503_before_or_after_applying_lose_nothing_and_double_nothing(stack, gcs_proxy):
    # GIVEN 1,000 queued files, and a GCS that answers 503 to 30% of conditional writes after
    # applying them (the answer is lost) and to 10% before applying them
    messages = publish(stack, refs(run_id("gcs503"), 1000))
    gcs_proxy.reset_stats()
    gcs_proxy.faults(fail_after=0.3, fail_before=0.1)
    try:
        # WHEN the scheduler's flushes drain the queue through that GCS
        summaries = flush_until_idle(stack, expect=messages, max_runs=25, STORAGE_EMULATOR_HOST=gcs_proxy.url,
                                     MAX_ASSETS_PER_MANIFEST=100)
    finally:
        stats = gcs_proxy.stats()
        gcs_proxy.faults(fail_after=0.0, fail_before=0.0)
    # THEN the faults really happened, and every file is in the Hub exactly once
    counts = held(stack, messages[0].ref.name[:15])
    report("gcs 503s", files=len(messages), missing=len(messages) - len(counts),
           duplicates=sum(n - 1 for n in counts.values()), flushes=len(summaries),
           conditional_writes=stats.get("requests_conditional"), answered_503_after=stats.get("failed_after"),
           answered_503_before=stats.get("failed_before"))
    assert stats["failed_after"] >= 200 and stats["failed_before"] >= 60
    assert_once(stack, messages)
