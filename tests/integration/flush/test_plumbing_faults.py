"""Our own plumbing fails too: GCS answers 503 (before or after applying a write) and Pub/Sub
loses acks. On the local stack, judged by what the Hub stand-in holds: nothing lost, nothing twice."""
from __future__ import annotations

import json
import time
import uuid
from collections import Counter

import pytest

from deploy.local import gcs_fault_proxy
from tests.integration.conftest import LEASE_S
from tests.integration.flushing import (pending_manifests, assert_once, flush_until_idle, held, publish, refs, report, run_flush,
                                        take_dead_letters)


@pytest.fixture(scope="module")
def gcs_proxy(stack):
    """The fault proxy in front of the stack's fake-gcs-server; the flushes of these tests reach
    GCS through it (STORAGE_EMULATOR_HOST), everything else goes straight to the emulator."""
    proxy = gcs_fault_proxy.start(stack["GCS_DIRECT_HOST"], state_dir=stack["STATE_DIR"],
                                  faults={"only": "conditional", "seed": 11})
    yield proxy
    proxy.stop()


# The stand-in has no rate limit here, so the flush need not pace its Hub calls.
FAST = {"HUB_REQUESTS_PER_MINUTE": 0, "MAX_ASSETS_PER_MANIFEST": 100}


def run_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}/"


def test_conditional_writes_answered_503_before_or_after_applying_lose_nothing_and_double_nothing(stack, gcs_proxy):
    # GIVEN 1,000 queued files, and a GCS that answers 503 to 30% of conditional writes after
    # applying them (the answer is lost) and to 10% before applying them
    messages = publish(stack, refs(run_id("gcs503"), 1000))
    gcs_proxy.reset_stats()
    gcs_proxy.faults(fail_after=0.3, fail_before=0.1)
    try:
        # WHEN the scheduler's flushes drain the queue through that GCS
        summaries = flush_until_idle(stack, expect=messages, max_runs=25, STORAGE_EMULATOR_HOST=gcs_proxy.url,
                                     FLUSH_BUDGET_SECONDS=10, **FAST)
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


def test_acks_and_lease_changes_failing_10_percent_lose_nothing_and_double_nothing(stack, tmp_path):
    # GIVEN 1,000 queued files, and flushes whose Pub/Sub acks and lease changes fail 10% of the
    # time (a test seam around the flush's subscriber client: see flaky_pubsub.py)
    messages = publish(stack, refs(run_id("ackfail"), 1000))
    stats_file = tmp_path / "flaky.jsonl"
    flaky = dict(module="tests.integration.flaky_pubsub", FLAKY_ACK_SHARE=0.1, FLAKY_STATS=stats_file,
                 **{**FAST, "MAX_ASSETS_PER_MANIFEST": 20})
    # WHEN the flushes drain the queue, and a last one (without faults, so that nothing is left
    # behind for later tests) drains it again once the messages whose acks were lost come back
    # (a held message's lease is extended to at most LEASE_S)
    summaries = flush_until_idle(stack, expect=messages, **flaky)
    time.sleep(LEASE_S + 1)
    summaries += flush_until_idle(stack, **{**FAST, "MAX_ASSETS_PER_MANIFEST": 20})
    # THEN acks really failed and their messages came back, and every file is in the Hub once
    stats = Counter()
    for line in stats_file.read_text().splitlines():
        stats.update(json.loads(line))
    counts = held(stack, messages[0].ref.name[:16])
    report("ack faults", files=len(messages), missing=len(messages) - len(counts),
           duplicates=sum(n - 1 for n in counts.values()), flushes=len(summaries),
           ack_calls=stats["ack_calls"], failed_ack_calls=stats["ack_failed_calls"],
           acks_lost=stats["ack_failed_ids"], failed_lease_calls=stats["lease_failed_calls"],
           redelivered_and_acked_as_duplicates=sum(s["duplicates"] for s in summaries))
    assert stats["ack_failed_calls"] >= 1 and stats["ack_failed_ids"] >= 1  # acks really lost (they come back
    # after their ack deadline, maybe after this test's last flush: duplicates are not waited for)
    assert_once(stack, messages)


SETTLE_STEPS = ["after-failed-manifest", "after-dead-letters", "after-sent-marker", "before-state-update"]


def test_a_flush_killed_between_any_two_writes_of_settling_loses_nothing_and_doubles_nothing(stack):
    # GIVEN for each step of settling a manifest, 30 good objects and one the Hub rejects, and a
    # flush that is killed (SIGKILL) at that step; the four run one after another, each on its own
    # objects (the earlier ones are leased by the flushes that died)
    sets = {}
    for step in SETTLE_STEPS:
        run = run_id(f"settle-{step}")
        good = publish(stack, refs(run, 30))
        [bad] = publish(stack, refs(run + "zz-", 1), size=(-5, 10))  # a corrupt size: the Hub answers 400
        assert run_flush(stack, crash_at=step, **FAST) is None, f"not killed at {step}"
        sets[step] = (run, good, bad)
    # WHEN later flushes run until all is settled (pending manifests resume once their lease ends)
    everything = [m for _, good, _ in sets.values() for m in good]
    flush_until_idle(stack, expect=everything, **FAST)
    # THEN for every step the good objects are in the Hub once, the rejected one is not, and it
    # is dead-lettered with its reason
    letters = take_dead_letters(stack, lambda letter: "zz-" in letter.object and "settle-" in letter.object, 7,
                               timeout=15)
    for step, (run, good, bad) in sets.items():
        counts = held(stack, run)
        dead = [m for m, letter in letters if letter.object.endswith(bad.ref.name)]
        report(f"killed {step}", files=len(good) + 1, missing=len(good) - len(counts) + (bad.ref.name in counts),
               duplicates=sum(n - 1 for n in counts.values()), dead_letters_for_the_rejected_one=len(dead))
        assert_once(stack, good)
        assert bad.ref.name not in counts and dead and "Hub rejected" in dead[0].attributes["reason"]
    # AND every manifest the killed flushes left was finished (by the later flushes, or by a killed
    # one that came after it: which of them does depends on when each lease ran out)
    assert not pending_manifests(stack)
