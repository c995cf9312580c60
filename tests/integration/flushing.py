"""Helpers for the flush tests: publish as ingest does, run real flushes, read what the Hub holds."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

from deploy.local.processes import ROOT, HubStandin
from hub_import.core.clients import publisher_client, subscriber_client
from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import load
from hub_import.flush.dead_letters import unwrap
from hub_import.ingest.handler import describe
from hub_import.ops.dead_letter_inbox import pull, release


def hub(stack) -> HubStandin:
    return HubStandin(url=stack["HUB_API_URL"], api_key=stack["HUB_API_KEY"], data_dir=Path(), process=None,
                      name="hub", state_dir=Path(stack["STATE_DIR"]))


def own_state(stack, name: str = "own") -> dict:
    """The stack with manifests and a ledger (so a flush lease, and heal checks) of a test's own,
    so that what other tests leave in the state bucket neither holds it up nor costs it Hub calls."""
    import uuid

    own = f"{name}-{uuid.uuid4().hex[:8]}"
    return {**stack, "MANIFEST_PREFIX": f"{own}/manifests/", "LEDGER_PREFIX": f"{own}/ledger/"}


def settings(stack, **extra):
    return load({**os.environ, **stack, **{k: str(v) for k, v in extra.items()}})


def refs(prefix: str, n: int, bucket: str = "landing") -> list[ObjectRef]:
    return [ObjectRef(bucket=bucket, name=f"{prefix}{i:05d} ü.jpg", generation=1000 + i, size=1000,
                      content_type="image/jpeg") for i in range(n)]


def publish(stack, objects, size=(64, 48), copies: int = 1) -> list[ObjectMessage]:
    """Queue messages for `objects` as the ingest function does (rules and routes applied)."""
    s = settings(stack, PROBE_IMAGE_SIZE="false")
    messages = [describe(ref, s) for ref in objects]
    messages = [ObjectMessage(m.ref, m.destination, size, "test", "event") for m in messages if m]
    futures = [publisher_client().publish(s.topic_path, *m.encode()[:1], **m.encode()[1])
               for _ in range(copies) for m in messages]
    for f in futures:
        f.result(timeout=30)
    return messages


def run_flush(stack, crash_at: str | None = None, module: str = "hub_import", **extra) -> dict | None:
    """One flush as a real process (`python -m hub_import flush`, or `python -m MODULE` for a test
    seam around it); its summary, or None if it was killed."""
    env = {**os.environ, **stack, "LOG_LEVEL": "WARNING", **{k: str(v) for k, v in extra.items()}}
    env.pop("FLUSH_CRASH_AT", None)
    if crash_at:
        env["FLUSH_CRASH_AT"] = crash_at
    args = [sys.executable, "-m", module] + (["flush"] if module == "hub_import" else [])
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if crash_at and done.returncode == -9:
        wait_for_the_flush_lease(stack)  # the killed flush held it: nothing sends until it runs out
        return None
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout[done.stdout.index("{\n"):])


def wait_for_the_flush_lease(stack) -> None:
    """Wait until no flush holds the one-sender lease (a killed one holds it until it runs out)."""
    from hub_import.core.clients import storage_client
    from hub_import.state.store import JsonStore

    lease = JsonStore(storage_client().bucket(stack["STATE_BUCKET"])).read(
        f"{stack.get('LEDGER_PREFIX', 'ledger/')}leases/flush.json")
    if lease is not None:
        time.sleep(max(0.0, float(lease.body.get("until", 0)) - time.time()) + 0.2)


def flush_http(stack) -> dict:
    answer = requests.post(stack["FLUSH_URL"], timeout=300)
    assert answer.status_code == 200, answer.text
    return answer.json()


def flush_until_idle(stack, flush=None, max_runs: int = 60, expect=None, **extra) -> list[dict]:
    """Flush (as the scheduler does) until a run finds the queue empty and no pending manifest left,
    and, given `expect` (messages), until the Hub holds each of them: a message deferred by a flush
    that ran out of time is invisible for a few seconds, so an empty queue alone proves nothing."""
    summaries = []
    prefix = os.path.commonprefix([m.ref.name for m in expect]) if expect else None
    back_by = 0.0  # when the messages a flush deferred are surely visible again
    for _ in range(max_runs):
        summary = (flush or (lambda: run_flush(stack, **extra)))()
        summaries.append(summary)
        if summary["deferred"]:
            back_by = time.monotonic() + deferral_s(stack, extra) + 1
        idle = summary["queue_empty"] and summary["pulled"] == 0 and not summary["hub_unavailable"] \
            and not pending_manifests(stack) and time.monotonic() >= back_by
        if idle and (expect is None or len(held(stack, prefix)) >= len({m.ref.name for m in expect})):
            return summaries
        time.sleep(0.5 if not idle else 2)
    raise AssertionError(f"the flush did not finish in {max_runs} runs: {summaries[-3:]}")


def deferral_s(stack, extra: dict) -> float:
    """How long a message the flush defers stays invisible (flush/subscription.py DEFER_S, or half the claim timeout)."""
    from hub_import.flush.subscription import DEFER_S

    setting = lambda name, default: float(extra.get(name, stack.get(name, default)))  # noqa: E731
    lease = 2 * setting("FLUSH_BUDGET_SECONDS", 5) + 10 + setting("HUB_TIMEOUT_SECONDS", 10)
    return min(DEFER_S, lease / 2)


def pending_manifests(stack) -> list[str]:
    from hub_import.core.clients import storage_client

    bucket = storage_client().bucket(stack["STATE_BUCKET"])
    return [b.name for b in bucket.list_blobs(prefix=f"{stack.get('MANIFEST_PREFIX', 'manifests/')}pending/")]


def held(stack, prefix: str) -> Counter:
    """externalId -> how many assets the Hub holds for it, for names under `prefix`."""
    return Counter(a["externalId"] for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"])
                   if a["externalId"].startswith(prefix))


def assert_once(stack, messages) -> None:
    prefix = os.path.commonprefix([m.ref.name for m in messages])
    counts = held(stack, prefix)
    wanted = Counter(m.ref.name for m in messages)
    assert counts == wanted, {"missing": sorted(wanted - counts)[:5], "doubled": sorted(counts - wanted)[:5],
                              "missing_n": sum((wanted - counts).values()), "doubled_n": sum((counts - wanted).values())}


def take_dead_letters(stack, mine, count: int, timeout: float = 30) -> list:
    """Pull the dead-letter subscription until `count` letters for which `mine(letter)` holds are in
    hand (those are acked; the others are handed back untouched)."""
    sub = subscriber_client()
    path = sub.subscription_path(stack["GOOGLE_CLOUD_PROJECT"], stack["DEAD_LETTER_SUBSCRIPTION"])
    found, deadline = [], time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        received = pull(sub, path, wait_s=2)
        ours = [(r, unwrap(r)) for r in received]
        ours = [(r, letter) for r, letter in ours if mine(letter)]
        found += [(r.message, letter) for r, letter in ours]
        if ours:
            sub.acknowledge(subscription=path, ack_ids=[r.ack_id for r, _ in ours])
        release(sub, path, [r.ack_id for r in received if all(r is not o for o, _ in ours)])
    return found


def report(name: str, **counts) -> None:
    """The counts a test measured, printed for `pytest -s` (and the issue's closing note)."""
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in counts.items()))
