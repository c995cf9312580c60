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

from deploy.local.hub_standin_faults import FAULT_DEFAULTS
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


# The switches the test stack's Hub starts with, over the stand-in's defaults: no rate limit (the
# flushes of a test run unpaced, HUB_REQUESTS_PER_MINUTE=0).
STACK_FAULTS = {"rate_limit_per_minute": 0}


def every_switch_at_start(stack) -> dict:
    """Set every stand-in switch (the whole defaults table, so a switch added to it later is reset
    too) to the value the test stack starts with; returns them as the stand-in reports them."""
    wanted = {**FAULT_DEFAULTS, **STACK_FAULTS}
    now = hub(stack).faults(**wanted)
    assert now == wanted, {k: now.get(k) for k in set(now) | set(wanted) if now.get(k) != wanted.get(k)}
    return now


def own_state(stack, name: str = "own", queue: bool = False) -> dict:
    """The stack with manifests and a ledger (so a flush lease, and heal checks) of a test's own,
    so that what other tests leave in the state bucket neither holds it up nor costs it Hub calls.
    With `queue`, a topic and subscription of its own too (own_queue): for a test that publishes
    its messages itself (`publish(mine, ...)`), so that its flushes pull its messages only, and
    no other test's flush pulls (and imports, under another ledger) one of them. A test fed by
    the ingest function (an upload to the landing bucket) cannot have one: the ingest function
    publishes to the stack's one topic."""
    import uuid

    own = f"{name}-{uuid.uuid4().hex[:8]}"
    mine = {**stack, "MANIFEST_PREFIX": f"{own}/manifests/", "LEDGER_PREFIX": f"{own}/ledger/"}
    return {**mine, **own_queue(stack, own)} if queue else mine


def own_queue(stack, own: str) -> dict:
    """A topic and a pull subscription named after `own`, the subscription made as the stack's
    (its ack deadline, retention, dead-letter and retry policies: deploy/local/stack.py
    create_pubsub_resources); the settings that point publish() and the flush at them."""
    from google.cloud.pubsub_v1 import types

    project = stack["GOOGLE_CLOUD_PROJECT"]
    pub, sub = publisher_client(), subscriber_client()
    topic, name = pub.topic_path(project, f"t-{own}-assets"), sub.subscription_path(project, f"t-{own}-flush")
    pub.create_topic(name=topic)
    shared = sub.get_subscription(subscription=sub.subscription_path(project, stack["PUBSUB_SUBSCRIPTION"]))
    # A retry policy is passed only if the stack's has one: an empty one is not "none" to the emulator.
    retry = {"retry_policy": shared.retry_policy} if "retry_policy" in shared else {}
    sub.create_subscription(request=types.Subscription(
        name=name, topic=topic, ack_deadline_seconds=shared.ack_deadline_seconds,
        message_retention_duration=shared.message_retention_duration, dead_letter_policy=shared.dead_letter_policy,
        **retry))
    made = sub.get_subscription(subscription=name)
    assert (made.ack_deadline_seconds, made.dead_letter_policy, made.retry_policy) == \
        (shared.ack_deadline_seconds, shared.dead_letter_policy, shared.retry_policy), (made, shared)
    return {"PUBSUB_TOPIC": topic.rsplit("/", 1)[1], "PUBSUB_SUBSCRIPTION": name.rsplit("/", 1)[1]}


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
    missing = sorted({m.ref.name for m in expect} - set(held(stack, prefix))) if expect else []
    raise AssertionError(f"the flush did not finish in {max_runs} runs: {len(missing)} expected file(s) not in the "
                         f"Hub {missing[:3]}, pending manifests {pending_manifests(stack)[:3]}; {summaries[-3:]}")


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


def record(stack, state, name: str, generation: int = 0, each_generation: bool = False) -> dict | None:
    """The ledger record (under `state`'s LEDGER_PREFIX) of `name` in the stack's landing bucket, or None."""
    from hub_import.core.clients import storage_client
    from hub_import.state.ledger import Ledger
    from hub_import.state.store import JsonStore

    ledger = Ledger(JsonStore(storage_client().bucket(stack["STATE_BUCKET"])), state["LEDGER_PREFIX"], each_generation)
    doc = ledger.read(ObjectRef(stack["LANDING_BUCKET"], name, generation))
    return doc.body if doc else None


def heal_checks(stack) -> list[str]:
    """The heal checks (flush/heal.py) left in the state bucket, under MANIFEST_PREFIX/verify/."""
    from hub_import.core.clients import storage_client

    bucket = storage_client().bucket(stack["STATE_BUCKET"])
    return [b.name for b in bucket.list_blobs(prefix=f"{stack.get('MANIFEST_PREFIX', 'manifests/')}verify/")]


def flush_until_healed(stack, flush=None, timeout: float = 120, **extra) -> list[dict]:
    """Flush (as the scheduler does) until no heal check is left: each one has come due
    (HEAL_AFTER_SETTLES settle times after its resend) and been carried out. Polled on the state
    bucket under a deadline, instead of sleeping the due time and hoping a few flushes reach it."""
    summaries, deadline = [], time.monotonic() + timeout
    while heal_checks(stack):
        assert time.monotonic() < deadline, f"heal checks still left after {timeout} s: {heal_checks(stack)[:3]}"
        summaries.append((flush or (lambda: run_flush(stack, **extra)))())
        time.sleep(0.5)
    return summaries


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


def hub_calls(stats: dict) -> int:
    """The /v2 calls the stand-in answered, from its /_admin/stats (not the flush's own summary)."""
    return sum(n for route, statuses in stats["requests"].items() if route.split(" ")[-1].startswith("/v2/")
               for status, n in statuses.items() if status.isdigit())


LISTING = "GET /v2/project/<project_id>/assets"  # the stand-in's route rows, as /_admin/stats names them
IMPORT = "POST /v2/project/<project_id>/cloud"


def answered(stats: dict, route: str | None = None, status: str | None = None) -> int:
    """How many calls the stand-in answered, from its /_admin/stats: of `route` (every /v2 route
    when None), with `status` (any HTTP status when None)."""
    rows = [r for r in stats["requests"] if r.split(" ")[-1].startswith("/v2/")] if route is None else [route]
    return sum(n for r in rows for s, n in stats["requests"].get(r, {}).items()
               if (s == status if status else s.isdigit()))


def commit_held(h: HubStandin, at_least: int = 1) -> int:
    """Store now every slow commit the stand-in holds (POST /_admin/commit-held): the lost import
    lands when the test says, never before; asserts that at least `at_least` were still held (so
    that everything the test did before really met an import that had not landed)."""
    stored = h.commit_held()
    assert stored >= at_least, f"only {stored} slow commit(s) were still held; expected at least {at_least}"
    return stored


def wait_for_slow_commits(h: HubStandin, timeout: float = 60) -> dict:
    """Wait until the stand-in has stored every slow commit it scheduled (its stats' "slow commit"
    row), rather than sleeping their delay and hoping; returns that row."""
    deadline = time.monotonic() + timeout
    while True:
        done = h.stats()["requests"].get("slow commit", {})
        if done.get("stored", 0) >= done.get("scheduled", 0):
            return done
        assert time.monotonic() < deadline, f"slow commits still held after {timeout} s: {done}"
        time.sleep(0.1)


def report(name: str, **counts) -> None:
    """The counts a test measured, printed for `pytest -s` (and the issue's closing note)."""
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in counts.items()))
