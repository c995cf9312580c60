"""The flush as a pipeline: it claims each object in the ledger as soon as it pulls it, so that the
ledger writes go on while it pulls and sends, and a group it does not send gives its claims back
(after a flush, no claim names a manifest that was never written, so nothing waits out a claim
timeout). While files trickle in, a group waits at most HOLD_S for more before it is sent."""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime

from hub_import.core.clients import storage_client
from hub_import.state.ledger import Ledger
from hub_import.state.manifests import ManifestStore
from hub_import.state.store import JsonStore
from tests.integration.flushing import assert_once, flush_until_idle, hub, own_state, publish, refs, run_flush, settings


def records(stack, messages) -> dict[str, dict]:
    """Object name -> its ledger record, for those of `messages` that have one."""
    s = settings(stack)
    ledger = Ledger(JsonStore(storage_client().bucket(s.state_bucket)), s.ledger_prefix, s.each_generation)
    return {m.ref.name: doc.body for m in messages if (doc := ledger.read(m.ref)) is not None}


def without_manifest(stack, messages) -> list[str]:
    """Objects of `messages` whose ledger record names a manifest that does not exist."""
    s = settings(stack)
    manifests = ManifestStore(JsonStore(storage_client().bucket(s.state_bucket)), s.manifest_prefix)
    return [name for name, record in records(stack, messages).items()
            if manifests.state_of(record["manifest"]) is None]


def test_groups_left_unsent_when_the_budget_runs_out_give_their_claims_back(stack):
    # GIVEN 60 files, manifests of 10, and a Hub so slow (1.5 s a call) that a 5 s flush sends two at most
    mine = own_state(stack, "claims", queue=True)
    messages = publish(mine, refs(f"claims-{uuid.uuid4().hex[:8]}/", 60))
    the_hub = hub(stack)
    the_hub.faults(latency_ms=1500, rate_limit_per_minute=0)
    try:
        # WHEN one flush runs out of time with most groups claimed but unsent
        first = run_flush(mine, MAX_ASSETS_PER_MANIFEST=10, HUB_REQUESTS_PER_MINUTE=0)
    finally:
        the_hub.faults(latency_ms=0)
    # THEN it deferred them, and every claim it leaves names a manifest it wrote
    assert first["deferred"] >= 20, first
    assert without_manifest(mine, messages) == []
    # AND the next flushes send each file once
    flush_until_idle(mine, expect=messages, MAX_ASSETS_PER_MANIFEST=10, HUB_REQUESTS_PER_MINUTE=0)
    assert_once(mine, messages)


def test_a_destination_that_cannot_work_leaves_no_ledger_record(stack):
    # GIVEN files routed to a batch that does not exist, with batch creation off
    run = f"claims-nobatch-{uuid.uuid4().hex[:8]}/"
    mine = {**own_state(stack, "claims", queue=True), "HUB_CREATE_BATCHES": "false",
            "HUB_ROUTES": json.dumps([{"prefix": run, "batches": [run.rstrip("/")]}])}
    messages = publish(mine, refs(run, 20))
    # WHEN the flush meets them
    summary = run_flush(mine, HUB_REQUESTS_PER_MINUTE=0)
    # THEN they fail visibly, and the claims made as they were pulled are gone again
    assert summary["failed"] == 20, summary
    assert records(mine, messages) == {}


def test_files_trickling_in_reach_the_hub_while_the_flush_is_still_pulling(stack):
    # GIVEN a flush that keeps pulling (files land every half second for 12 s, within its budget)
    # and whose groups wait at most 3 s for more (HOLD_S, 30 s in a deployment)
    mine = own_state(stack, "hold", queue=True)
    run = f"hold-{uuid.uuid4().hex[:8]}/"
    objects = refs(run, 24)
    landed: dict[str, float] = {}

    def trickle():
        for ref in objects:
            publish(mine, [ref])
            landed[ref.name] = time.time()
            time.sleep(0.5)
    feeder = threading.Thread(target=trickle)
    feeder.start()
    # WHEN the flush runs through it
    summary = run_flush(mine, module="tests.integration.short_hold", SHORT_HOLD_S=3, FLUSH_BUDGET_SECONDS=20,
                        HUB_REQUESTS_PER_MINUTE=0)
    feeder.join()
    # THEN the first files were in the Hub before the last had landed: sent in several imports as
    # they waited, not all at once when the flush stopped pulling
    assets = [a for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if a["externalId"].startswith(run)]
    stored = sorted(datetime.fromisoformat(a["createdAt"]).timestamp() for a in assets)
    assert summary["pulled"] == 24 and len(assets) == 24 == len({a["externalId"] for a in assets}), summary
    assert stored[0] < max(landed.values()) and len(set(stored)) >= 2, (stored[0], max(landed.values()))


def test_a_queue_of_its_own_gets_its_own_messages_only(stack):
    # GIVEN two tests' states, each with a queue of its own (own_state(queue=True))
    a, b = own_state(stack, "queue-a", queue=True), own_state(stack, "queue-b", queue=True)
    assert len({a["PUBSUB_SUBSCRIPTION"], b["PUBSUB_SUBSCRIPTION"], stack["PUBSUB_SUBSCRIPTION"]}) == 3
    # WHEN one of them queues files
    messages = publish(a, refs(f"queue-{uuid.uuid4().hex[:8]}/", 7))
    # THEN the other's flush pulls none of them, and its own flushes pull exactly them
    assert run_flush(b, HUB_REQUESTS_PER_MINUTE=0)["pulled"] == 0
    summaries = flush_until_idle(a, expect=messages, HUB_REQUESTS_PER_MINUTE=0)
    assert sum(s["pulled"] for s in summaries) == 7
    assert_once(stack, messages)
