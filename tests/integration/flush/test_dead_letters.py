"""Poison and dead letters on the local stack: no message crashes a flush, every one that cannot
be imported is dead-lettered with its reason, and each comes back once its cause is fixed."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid

import requests

from deploy.local.processes import ROOT
from hub_import.core.clients import publisher_client
from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from tests.integration.flushing import (assert_once, flush_until_idle, held, hub, publish, refs, report, run_flush,
                                        take_dead_letters)

FAST = {"HUB_REQUESTS_PER_MINUTE": 0, "FLUSH_BUDGET_SECONDS": 10}


def run_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}/"


def cli(stack, *args, **settings) -> subprocess.CompletedProcess:
    env = {**os.environ, **stack, **{k: str(v) for k, v in settings.items()}}
    return subprocess.run([sys.executable, "-m", "hub_import", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def poison(run: str, good: ObjectMessage) -> list[tuple[bytes, dict, str]]:
    """200 malformed or hostile messages: (data, attributes, a fragment of the reason they earn)."""
    body = json.loads(good.encode()[0])

    def changed(path, value):
        b = json.loads(json.dumps(body))
        parent = b
        for key in path[:-1]:
            parent = parent[key]
        if value is KeyError:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
        return json.dumps(b).encode()

    kinds = [
        (b"", "not a JSON message"),
        (b"\xff\xfe\x00 not text", "not a JSON message"),
        (b"[" * 50_000, "not a JSON message"),
        (bytes(random.Random(1).getrandbits(8) for _ in range(200_000)), "not a JSON message"),
        (b"null", "expected a JSON object"),
        (b"[1, 2, 3]", "expected a JSON object"),
        (changed(("v",), 3), "unknown message version 3"),
        (changed(("v",), 2), "kind: expected 'delete'"),  # version 2 is a deletion: it says what it lacks
        (changed(("v",), True), "unknown message version True"),
        (changed(("v",), "é" * 3000), "unknown message version"),
        (changed(("v",), KeyError), "unknown message version None"),
        (changed(("object",), "gs://landing/x.jpg"), "object: expected a JSON object"),
        (changed(("object", "name"), 12345), "name must be a non-empty string"),
        (changed(("object", "name"), ""), "name must be a non-empty string"),
        (changed(("object", "name"), "ü" * 600), "name is longer than 1024 bytes"),
        (changed(("object", "name"), "\ud800.jpg"), "not valid Unicode"),
        (changed(("object", "generation"), "abc"), "generation must be a whole number"),
        (changed(("object", "generation"), 1.5), "generation must be a whole number"),
        (changed(("object", "bucket"), KeyError), "object: bucket missing"),
        (changed(("destination",), None), "destination: expected a JSON object"),
        (changed(("destination", "project"), 7), "project must be a non-empty string"),
        (changed(("destination", "batches"), "incoming"), "batches must be a list"),
        (changed(("destination", "priority"), 5000), "priority must be a whole number"),
        (changed(("size",), [64]), "size: expected [width, height]"),
        (changed(("size",), "big"), "size: expected [width, height]"),
    ]
    out = []
    for i in range(200):
        data, why = kinds[i % len(kinds)]
        attributes = {"poison": f"{run}{i:03d}"}
        if i % 25 == 0:  # hostile attributes too, at Pub/Sub's byte limits
            attributes.update({"k" * 256: "ä" * 512, **{f"a{j}": "x" for j in range(60)}})
        out.append((data, attributes, why))
    return out


def test_200_poison_messages_among_1000_good_ones_are_dead_lettered_with_their_reason_and_crash_nothing(stack):
    # GIVEN 1,000 good messages and 200 malformed or hostile ones, mixed in one queue
    run = run_id("poison")
    good = publish(stack, refs(run, 1000))
    bad = poison(run, good[0])
    topic = f"projects/{stack['GOOGLE_CLOUD_PROJECT']}/topics/{stack['PUBSUB_TOPIC']}"
    order = random.Random(5).sample(bad, len(bad))
    for f in [publisher_client().publish(topic, data, **attributes) for data, attributes, _ in order]:
        f.result(timeout=30)
    # WHEN flushes drain the queue (run_flush fails the test if any flush process dies)
    summaries = flush_until_idle(stack, expect=good, **FAST)
    # THEN every good one is in the Hub once
    assert_once(stack, good)
    # AND every bad one is dead-lettered once, with its reason in the body and short attributes
    letters = take_dead_letters(stack, lambda letter: letter.attributes.get("poison", "").startswith(run), len(bad))
    by_id = {letter.attributes["poison"]: (message, letter) for message, letter in letters}
    expected = {attributes["poison"]: why for _, attributes, why in bad}
    wrong = {k: by_id[k][1].reason for k, why in expected.items() if k in by_id and why not in by_id[k][1].reason}
    counts = held(stack, run)
    report("poison", good=len(good), bad=len(bad), missing=len(good) - len(counts),
           duplicates=sum(n - 1 for n in counts.values()), dead_lettered=len(by_id),
           dead_letters_in_all=len(letters), flushes=len(summaries),
           flushes_that_died=0)  # run_flush fails the test on any exit but 0
    assert len(by_id) == len(letters) == len(bad) and not wrong, wrong
    for message, _ in letters:
        assert all(len(v.encode()) <= 1024 for v in message.attributes.values()) and message.attributes["reason"]
    assert sum(s["dead_lettered"] for s in summaries) >= len(bad)


def test_a_missing_batch_fails_visibly_and_its_dead_letters_come_back_once_the_batch_exists(stack):
    # GIVEN a route to a batch that does not exist, with batch creation off
    run = run_id("nobatch")
    batch = run.rstrip("/")
    routed = {**FAST, "HUB_CREATE_BATCHES": "false",
              "HUB_ROUTES": json.dumps([{"prefix": run, "batches": [batch]}])}
    dest = Destination(stack["HUB_PROJECT_ID"], stack["HUB_STORAGE_ID"], (batch,), 0)
    topic = f"projects/{stack['GOOGLE_CLOUD_PROJECT']}/topics/{stack['PUBSUB_TOPIC']}"
    objects = refs(run, 20)
    futures = [publisher_client().publish(topic, *ObjectMessage(r, dest, (64, 48)).encode()[:1],
                                          **ObjectMessage(r, dest).encode()[1]) for r in objects]
    junk = ObjectRef("landing", f"{run}junk.jpg", 1)
    futures.append(publisher_client().publish(topic, b"{not json", bucket=junk.bucket, name=junk.name))
    for f in futures:
        f.result(timeout=30)
    # WHEN the flush meets them
    first = cli(stack, "flush", **routed)
    assert first.returncode == 0, first.stderr[-2000:]
    summaries = [json.loads(first.stdout[first.stdout.index("{\n"):])]
    summaries += flush_until_idle(stack, **routed)
    # THEN its manifest fails visibly: an ERROR line, a failed manifest in `status`, dead letters
    assert '"severity": "ERROR"' in first.stderr and batch in first.stderr
    assert sum(s["failed"] for s in summaries) == 20 and held(stack, run) == {}
    status = json.loads(cli(stack, "status", "--json", **routed).stdout)
    assert sum(1 for a in status["failed_assets"] if run in a["object"] and batch in a["reason"]) == 20
    assert any(batch in d["reason"] and d["count"] >= 20 for d in status["dead_letters"]), status["dead_letters"]
    # AND replaying them before the cause is fixed brings back none, and says why
    # (the worker's stack shares one dead-letter subscription: an earlier test's dead letters whose
    # cause is gone are republished, and flushed away here, so that they do not count below)
    early = json.loads(cli(stack, "replay", "--dead-letters", "--json", **routed).stdout)
    assert any(batch in k["reason"] and k["count"] >= 20 for k in early["kept"]), early
    flush_until_idle(stack, **routed)
    # WHEN the batch is created in the Hub, a dry run says what would happen and changes nothing
    requests.post(f"{stack['HUB_API_URL']}/v2/batches/{stack['HUB_PROJECT_ID']}", json={"name": batch},
                  headers={"apikey": stack["HUB_API_KEY"]}, timeout=10).raise_for_status()
    dry = json.loads(cli(stack, "replay", "--dead-letters", "--dry-run", "--json", **routed).stdout)
    # (had it republished them, the flush would import them now that the batch exists; the flush's
    # own count of what it pulled could include what an earlier test on this worker left queued)
    assert dry["republished"] >= 20 and run_flush(stack, **routed) is not None and held(stack, run) == {}
    # AND the real replay republishes them, and the flush imports each once, into the batch
    done = json.loads(cli(stack, "replay", "--dead-letters", "--json", **routed).stdout)
    assert done["republished"] >= 20
    assert any("cannot be decoded" in k["reason"] for k in done["kept"]), "the poison message stays"
    summaries = flush_until_idle(stack, expect=[ObjectMessage(r, dest) for r in objects], **routed)
    assets = [a for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if a["externalId"].startswith(run)]
    assert len(assets) == 20 == len({a["externalId"] for a in assets})
    assert all(len(a["batches"]) == 1 for a in assets)
    # AND the dead letters are gone but the poison one, which `status` still shows with its reason
    after = json.loads(cli(stack, "status", "--json", **routed).stdout)["dead_letters"]
    assert not any(batch in d["reason"] for d in after)
    assert any(d["reason"].startswith("not a JSON message") for d in after), after
    # AND replaying the failed manifest too sends nothing twice: the ledger has them in the Hub
    again = json.loads(cli(stack, "replay", "--failed", "--json", **routed).stdout)["manifests"]
    mine = [m for m in again if m.get("already_in_hub") == 20]
    assert mine and mine[0]["outcome"] == "nothing_to_send"
    assert set(held(stack, run).values()) == {1}
    report("dead letter brought back", files=20, missing=20 - len(held(stack, run)),
           duplicates=sum(n - 1 for n in held(stack, run).values()), dead_lettered=21,
           republished=done["republished"], kept=sum(k["count"] for k in done["kept"]))
    assert len(take_dead_letters(stack, lambda letter: run in letter.object, 1, timeout=10)) == 1
