"""The results topic on the local stack: one message per settled manifest, whose assets are what
the Hub received; a failure carries its error; a result that could not go out (Pub/Sub failing,
the flush killed) goes out with a later flush, under the same `result_id`."""
from __future__ import annotations

import json
import time
import uuid
from collections import Counter

import pytest

from hub_import.core.clients import storage_client, subscriber_client
from hub_import.state.manifests import FINAL, ManifestStore
from hub_import.state.store import JsonStore
from tests.integration.flushing import flush_until_idle, held, hub, own_state, publish, refs, report, run_flush

FAST = {"HUB_REQUESTS_PER_MINUTE": "0"}


@pytest.fixture
def results_sub(stack):
    """A subscription of the test's own on the results topic: what is published from now on."""
    sub = subscriber_client()
    path = sub.subscription_path(stack["GOOGLE_CLOUD_PROJECT"], f"results-test-{uuid.uuid4().hex[:8]}")
    sub.create_subscription(name=path, topic=f"projects/{stack['GOOGLE_CLOUD_PROJECT']}/topics/{stack['RESULTS_TOPIC']}")
    yield path
    sub.delete_subscription(subscription=path)


def take(path: str, prefix: str, count: int, timeout: float = 20, settle: float = 0.0) -> list[tuple[dict, dict, bytes]]:
    """Pull and ack until `count` distinct result_ids of manifests under `prefix` are in hand
    (then `settle` seconds more); every message as (attributes, body, data), duplicates included."""
    sub = subscriber_client()
    found: list = []
    deadline, settle_until = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        answer = sub.pull(subscription=path, max_messages=100, timeout=2)
        if answer.received_messages:
            sub.acknowledge(subscription=path, ack_ids=[m.ack_id for m in answer.received_messages])
        for m in answer.received_messages:
            body = json.loads(m.message.data)
            if body["manifest"].startswith(prefix):
                found.append((dict(m.message.attributes), body, m.message.data))
        if len({a["result_id"] for a, _, _ in found}) >= count:
            settle_until = settle_until or time.monotonic() + settle
            if time.monotonic() >= settle_until:
                break
        elif not answer.received_messages:
            time.sleep(0.2)
    return found


def final_manifests(env) -> dict[str, str]:
    """manifest path -> final state, from the state bucket under the test's own prefix."""
    store = JsonStore(storage_client().bucket(env["STATE_BUCKET"]))
    out = {}
    for name in store.list(env["MANIFEST_PREFIX"]):
        if name.endswith(".state.json"):
            state = store.read(name).body["state"]
            if state in FINAL:
                out[name.removesuffix(".state.json") + ".json"] = state
    return out


def marked(env) -> list[str]:
    store = JsonStore(storage_client().bucket(env["STATE_BUCKET"]))
    return [path for path, _ in ManifestStore(store, env["MANIFEST_PREFIX"]).marked_results()]


def test_each_settled_manifest_gives_one_result_whose_assets_are_what_the_hub_received(stack, results_sub):
    # GIVEN files for the Hub, one the Hub rejects (400), and two routed to a project that does not exist
    env = own_state(stack, "results", queue=True)
    run = f"results-{uuid.uuid4().hex[:8]}/"
    routed = {**FAST, "MAX_ASSETS_PER_MANIFEST": "4",
              "HUB_ROUTES": json.dumps([{"prefix": run + "lost/", "project": "no-such-project"}])}
    good = publish({**env, **routed}, refs(run + "ok-", 6))
    [bad] = publish({**env, **routed}, refs(run + "zz-", 1), size=(-5, 10))  # a corrupt size: the Hub says 400
    lost = publish({**env, **routed}, refs(run + "lost/", 2))
    # WHEN flushes settle them all
    flush_until_idle(env, expect=good, **routed)
    # THEN the topic carries one result per final manifest, under result_id = manifest#state
    finals = final_manifests(env)
    messages = take(results_sub, env["MANIFEST_PREFIX"], len(finals), settle=2)
    ids = Counter(a["result_id"] for a, _, _ in messages)
    assert set(ids) == {f"{path}#{state}" for path, state in finals.items()}, (ids, finals)
    assert all(body["result_id"] == a["result_id"] and body["state"] == a["state"] for a, body, _ in messages)
    # AND the sent ones list exactly what the Hub received, each asset once
    hub_ids = Counter(a["externalId"] for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"])
                      if a["externalId"].startswith(run))
    sent = {a["result_id"]: body for a, body, _ in messages if a["state"] == "sent"}
    rows = [row for body in sent.values() for row in body["assets"]]
    assert Counter(r["externalId"] for r in rows) == hub_ids == Counter(m.ref.name for m in good)
    by_name = {m.ref.name: m.ref for m in good}
    assert all(r["object"] == by_name[r["externalId"]].uri and r["generation"] == str(by_name[r["externalId"]].generation)
               for r in rows)
    assert all(body["counts"] == {"assets": len(body["assets"]), "sent": len(body["assets"])} for body in sent.values())
    # AND each failure says why, with its assets
    failed = {"lost" if "/lost/" in body["assets"][0]["externalId"] else "rejected": body
              for a, body, _ in messages if a["state"] == "failed"}
    assert [r["externalId"] for r in failed["rejected"]["assets"]] == [bad.ref.name] and failed["rejected"]["error"]
    assert sorted(r["externalId"] for r in failed["lost"]["assets"]) == sorted(m.ref.name for m in lost)
    assert "no-such-project" in failed["lost"]["error"] and failed["lost"]["project"] == "no-such-project"
    assert failed["lost"]["counts"] == {"assets": 2, "failed": 2}
    assert not marked(env), "every confirmed result is unmarked"
    report("results", manifests=len(finals), results=len(ids), messages=len(messages), sent_assets=len(rows),
           hub_assets=sum(hub_ids.values()), failed_results=len(failed))


def test_a_result_pubsub_did_not_take_goes_out_with_the_next_flush_and_again_under_the_same_id(stack, results_sub):
    # GIVEN a flush whose results topic fails (it does not exist)
    env = own_state(stack, "results-down", queue=True)
    run = f"results-down-{uuid.uuid4().hex[:8]}/"
    files = publish(env, refs(run, 3))
    first = run_flush(env, RESULTS_TOPIC="no-such-results-topic", **FAST)
    # THEN importing went on: the Hub holds the files, and the result stays marked
    assert first["sent"] == 3 and first["results_published"] == 0
    assert sum(held(stack, run).values()) == 3
    [path] = marked(env)
    # WHEN the next flush runs with the topic back
    second = run_flush(env, **FAST)
    # THEN it publishes the result and unmarks it
    [(attributes, body, data)] = take(results_sub, env["MANIFEST_PREFIX"], 1, settle=1)
    assert second["results_published"] == 1 and not marked(env)
    assert attributes["result_id"] == f"{path}#sent" and len(body["assets"]) == 3
    # WHEN its confirmation is lost (the marker is back) and a flush publishes it again
    JsonStore(storage_client().bucket(env["STATE_BUCKET"])).write(
        f"{env['MANIFEST_PREFIX']}results/{path.removeprefix(env['MANIFEST_PREFIX']).replace('/', '_')}",
        {"manifest": path, "at": time.time()})
    run_flush(env, **FAST)
    # THEN the copy has the same result_id and the same bytes: a subscriber drops it
    [(again_attributes, _, again)] = take(results_sub, env["MANIFEST_PREFIX"], 1, settle=1)
    assert again_attributes == attributes and again == data


def test_a_flush_killed_after_a_manifest_settled_and_before_its_result_went_out_loses_no_result(stack, results_sub):
    # GIVEN files, one the Hub rejects, and a flush whose results topic fails that is killed (SIGKILL)
    # after the rejected one's failed manifest is final and dead-lettered, before the rest is marked sent
    env = {**own_state(stack, "results-kill", queue=True), "FLUSH_BUDGET_SECONDS": "5", "HUB_TIMEOUT_SECONDS": "1"}
    run = f"results-kill-{uuid.uuid4().hex[:8]}/"
    files = publish(env, refs(run, 3))
    [bad] = publish(env, refs(run + "zz-", 1), size=(-5, 10))  # a corrupt size: the Hub says 400
    assert run_flush(env, crash_at="after-dead-letters", RESULTS_TOPIC="no-such-results-topic", **FAST) is None
    [failed] = final_manifests(env)
    assert marked(env) == [failed] and take(results_sub, env["MANIFEST_PREFIX"], 1, timeout=2) == []
    # WHEN later flushes run until all is settled
    pulled = sum(s["pulled"] for s in flush_until_idle(env, expect=files, **FAST))
    # THEN both results went out: the failed one from its marker, and the pending manifest's once sent
    finals = final_manifests(env)
    messages = take(results_sub, env["MANIFEST_PREFIX"], len(finals), settle=1)
    by_state = {a["state"]: body for a, body, _ in messages}
    assert {a["result_id"] for a, _, _ in messages} == {f"{p}#{s}" for p, s in finals.items()} and not marked(env)
    assert [r["externalId"] for r in by_state["failed"]["assets"]] == [bad.ref.name]
    # AND the sent one lists what the Hub holds, as the manifest in the state bucket does (the import history)
    in_hub = Counter(a["externalId"] for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"])
                     if a["externalId"].startswith(run))
    assert Counter(r["externalId"] for r in by_state["sent"]["assets"]) == in_hub == Counter(m.ref.name for m in files)
    store = JsonStore(storage_client().bucket(env["STATE_BUCKET"]))
    [sent_path] = [p for p, s in finals.items() if s == "sent"]
    assert sorted(a["externalId"] for a in store.read(sent_path).body) == sorted(in_hub)
    # AND the killed flush's four messages come back and are acked (their objects are done with)
    deadline = time.monotonic() + 40
    while pulled < 4 and time.monotonic() < deadline:
        time.sleep(1)
        pulled += run_flush(env, **FAST)["pulled"]
    assert pulled >= 4 and set(held(stack, run).values()) == {1}
