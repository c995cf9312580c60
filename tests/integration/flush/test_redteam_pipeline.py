"""Red team (redteam3) against the pipelined flush of 3a6eb45 (early claims, the `full` queue,
HOLD_S, _give_back, _unclaim), on the local stack: what the Hub stand-in holds, and whether the
flush lives. Each test has a ledger and manifests of its own (own_state)."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
import uuid

from deploy.local.processes import ROOT
from hub_import.core.clients import publisher_client, storage_client
from hub_import.core.messages import DeletionMessage
from hub_import.state.ledger import Ledger
from hub_import.state.store import JsonStore
from tests.integration.flushing import (assert_once, flush_until_idle, held, own_state, publish, refs, report,
                                        run_flush, settings)

FAST = {"HUB_REQUESTS_PER_MINUTE": 0}


def ledger(stack) -> Ledger:
    s = settings(stack)
    return Ledger(JsonStore(storage_client().bucket(s.state_bucket)), s.ledger_prefix, s.each_generation)


def publish_deletion(stack, ref) -> None:
    """Queue a deletion of `ref` as the ingest function does (ON_DELETE=delete, no generation live)."""
    data, attributes = DeletionMessage(ref, "deleted", f"rt3-{uuid.uuid4().hex[:6]}").encode()
    publisher_client().publish(settings(stack).topic_path, data, **attributes).result(timeout=30)


def flush_process(stack, module: str = "hub_import", **extra) -> subprocess.CompletedProcess:
    """One flush as a real process; its CompletedProcess, whatever its exit (run_flush asserts 0)."""
    env = {**os.environ, **stack, "LOG_LEVEL": "WARNING", **{k: str(v) for k, v in extra.items()}}
    env.pop("FLUSH_CRASH_AT", None)
    args = [sys.executable, "-m", module] + (["flush"] if module == "hub_import" else [])
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


# FAILS on 3a6eb45 (WEDGE: a flush dies of one ordinary thing). With ON_DELETE=delete, a deletion
# of a name whose import the flush already holds (pulled, claimed early, its group still filling)
# arrives in a later pull: a file uploaded and removed (or renamed: copy + delete) within a minute.
# _unclaim gives the import's early claim back and sets item.claim = None, but leaves the item in
# its group. When HOLD_S closes the group, _ship_claimed evaluates `i.claim.done()` on it and the
# flush dies with AttributeError: it answers 500, logs no "flush done", and defers every object it
# held (they come back only after min(60 s, claim timeout / 2), a delivery attempt spent each).
# Measured here: the flush exits 1 with the AttributeError; the survivors reach the Hub only
# through later flushes.
def test_a_deletion_for_a_held_import_must_not_kill_the_flush(stack):
    mine = own_state(stack, "rt3-unclaim", queue=True)
    run = f"rt3-unclaim-{uuid.uuid4().hex[:8]}/"
    victim, *others = refs(run, 16)
    book = ledger(mine)
    first = publish(mine, [victim])  # the first of its group: _ship_claimed looks at it first
    survivors: list = []
    deletion_at: list[float] = []

    def feed():
        # Keep the flush pulling (each pull finds something) until well past its group's HOLD_S ...
        for n, ref in enumerate(others):
            survivors.extend(publish(mine, [ref]))
            # ... and once its early claim is in the ledger (so it is held, claimed, in an open
            # group), delete the victim: a later pull brings the deletion.
            if not deletion_at and book.read(victim) is not None:
                publish_deletion(mine, victim)
                deletion_at.append(time.time())
            time.sleep(0.4)
    feeder = threading.Thread(target=feed)
    feeder.start()
    started = time.time()
    done = flush_process(mine, module="tests.integration.short_hold", SHORT_HOLD_S=5, FLUSH_BUDGET_SECONDS=20,
                         MAX_ASSETS_PER_MANIFEST=100, **FAST)
    feeder.join()
    last_line = (done.stderr.strip().splitlines() or [""])[-1]
    try:
        assert deletion_at, "the victim was never claimed early: the scenario did not happen"
        # THEN the flush lives through it (and the deleted file does not go in, the others do, once)
        assert done.returncode == 0, f"the flush died (exit {done.returncode}): {last_line}"
    finally:
        # whatever happened, the deferred survivors are brought in, and how long it took is told
        flush_until_idle(mine, expect=survivors, **FAST)
        counts = held(mine, run)
        report("deletion of a held import", flush_exit=done.returncode, error=last_line[-100:],
               survivors=len(survivors), in_hub=len(counts), doubled=sum(n - 1 for n in counts.values()),
               victim_in_hub=counts.get(first[0].ref.name, 0),
               seconds_until_all_in=round(time.time() - started, 1))
    assert_once(mine, survivors)
    assert counts.get(first[0].ref.name, 0) == 0


# REGRESSION (PASSED on 3a6eb45: the attack failed). A flush SIGKILLed with several groups claimed
# early and unsent (some full in the `full` queue, one still filling), at two points: before the
# first manifest is written, and after the first group's Hub call. Every pulled message was leased
# for the claim timeout at once and every claim names a manifest never written, so nothing may
# come back before the claims can be taken over; then each file must be in the Hub once.
def test_a_flush_killed_with_groups_claimed_and_unsent_loses_nothing_and_doubles_nothing(stack):
    mine = own_state(stack, "rt3-kill", queue=True)
    sets = {}
    started = time.time()
    for step in ("before-manifest", "after-hub"):
        run = f"rt3-kill-{step}-{uuid.uuid4().hex[:6]}/"
        sets[step] = publish(mine, refs(run, 45))  # groups of 10: four full, one of five still open
        assert run_flush(mine, crash_at=step, MAX_ASSETS_PER_MANIFEST=10, **FAST) is None, f"not killed at {step}"
    everything = [m for messages in sets.values() for m in messages]
    summaries = flush_until_idle(mine, expect=everything, MAX_ASSETS_PER_MANIFEST=10, **FAST)
    for step, messages in sets.items():
        counts = held(mine, os.path.commonprefix([m.ref.name for m in messages]))
        report(f"killed at {step} with groups unsent", files=len(messages), in_hub=len(counts),
               doubled=sum(n - 1 for n in counts.values()), later_flushes=len(summaries),
               seconds_until_all_in=round(time.time() - started, 1))
        assert_once(mine, messages)


# REGRESSION (PASSED on 3a6eb45: the attack failed). ON_OVERWRITE=skip: an object's first upload is
# pulled and claimed early while its group fills; the overwrite (a newer generation) and duplicates
# of both arrive in later pulls and fold into the held item, so the claim is rewritten for the new
# generation (_claim_newer). The Hub must hold it once, and the ledger name the newer generation.
def test_a_newer_generation_across_pulls_is_imported_once_and_recorded(stack):
    mine = own_state(stack, "rt3-newer", queue=True)
    run = f"rt3-newer-{uuid.uuid4().hex[:8]}/"
    target, *others = refs(run, 12)
    newer = dataclasses.replace(target, generation=target.generation + 500)
    book = ledger(mine)
    first = publish(mine, [target], copies=2)
    fed: list = []

    def feed():
        sent_newer = False
        for ref in others:
            fed.extend(publish(mine, [ref]))
            if not sent_newer and book.read(target) is not None:
                publish(mine, [newer], copies=2)
                publish(mine, [target])
                sent_newer = True
            time.sleep(0.4)
    feeder = threading.Thread(target=feed)
    feeder.start()
    summary = run_flush(mine, module="tests.integration.short_hold", SHORT_HOLD_S=5, FLUSH_BUDGET_SECONDS=20,
                        MAX_ASSETS_PER_MANIFEST=100, **FAST)
    feeder.join()
    flush_until_idle(mine, expect=first + fed, **FAST)
    record = book.read(target).body
    counts = held(mine, run)
    report("newer generation across pulls", in_hub=len(counts), doubled=sum(n - 1 for n in counts.values()),
           duplicates_folded=summary["duplicates"], record_generation=record["generation"])
    assert_once(mine, first + fed)
    assert record["generation"] == newer.generation, record
