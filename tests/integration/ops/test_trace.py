"""`python -m hub_import trace gs://BUCKET/NAME` on the local stack: one verdict per file, as a user reads it."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from hub_import.core.assets import build_asset
from hub_import.core.clients import publisher_client, storage_client
from hub_import.core.objects import ObjectRef
from hub_import.hub import HubClient
from tests.integration.flushing import hub, own_state, publish, run_flush, take_dead_letters
from tests.integration.ops.test_operations import cli

JPEG = b"\xff\xd8\xff\xe0 a photo"


def landed(bucket, name: str, data: bytes = JPEG, kind: str = "image/jpeg") -> ObjectRef:
    """Upload `name` to `bucket` (one the Eventarc bridge does not watch) and return it as GCS has it."""
    blob = bucket.blob(name)
    blob.upload_from_string(data, content_type=kind)
    return ObjectRef(bucket.name, name, int(blob.generation), len(data), kind)


def verdict(stack, ref_or_uri, **settings) -> str:
    uri = ref_or_uri if isinstance(ref_or_uri, str) else ref_or_uri.uri
    done = cli(stack, "trace", uri, **settings)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert done.stdout.startswith(uri) and done.stdout.rstrip().splitlines()[-1].startswith("verdict: ")
    said = done.stdout.rstrip().splitlines()[-1].removeprefix("verdict: ")
    # exit 1 exactly for a verdict that needs a person (the README's exit codes)
    needs_person = said.startswith(("failed: ", "dead-lettered: ")) or " times: run `hub-import audit --fix`" in said \
        or "but the Hub holds no asset" in said or said.startswith("deletion held: ")
    assert done.returncode == (1 if needs_person else 0), (done.returncode, said)
    return said


def test_trace_says_where_each_file_is_in_one_verdict(stack):
    # GIVEN files that went in, were rejected by the Hub, are skipped by the rules, are in the Hub
    # twice, came as a poison message, and one nobody uploaded; after one flush
    run = uuid.uuid4().hex[:8]
    bucket = storage_client().create_bucket(f"trace-{run}")
    # a deployment whose landing bucket is this one, and one route to a storage the Hub lacks
    stack = {**own_state(stack, "trace", queue=True), "LANDING_BUCKET": bucket.name,
             "HUB_ROUTES": json.dumps([{"prefix": f"trace-{run}/rejected", "storage": f"no-such-storage-{run}"}])}
    imported, rejected = landed(bucket, f"trace-{run}/in.jpg"), landed(bucket, f"trace-{run}/rejected.jpg")
    skipped = landed(bucket, f"trace-{run}/setup.exe", b"MZ", "application/octet-stream")
    twice = landed(bucket, f"trace-{run}/twice.jpg")
    publish(stack, [imported, rejected])
    topic = f"projects/{stack['GOOGLE_CLOUD_PROJECT']}/topics/{stack['PUBSUB_TOPIC']}"
    publisher_client().publish(topic, b"{not json", bucket=bucket.name, name=f"trace-{run}/poison.jpg",
                               generation="1").result()
    summary = run_flush(stack)
    assert summary["sent"] >= 1 and summary["failed"] >= 1 and summary["dead_lettered"] >= 2, summary
    by_hand = HubClient(stack["HUB_API_URL"], stack["HUB_API_KEY"], requests_per_minute=0)
    for _ in range(2):
        by_hand.import_assets(stack["HUB_PROJECT_ID"], [build_asset(twice, storage=stack["HUB_STORAGE_ID"])])
    try:
        # WHEN each is traced, THEN each verdict says where it is and what to do
        held = [a for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if a["externalId"] == imported.name]
        assert len(held) == 1
        said = verdict(stack, imported)
        assert said.startswith("in the Hub once since 20") and said.endswith(f"(asset {held[0]['_id']})"), said
        said = verdict(stack, rejected)
        assert said.startswith("failed: ") and f"unknown storage id 'no-such-storage-{run}'" in said
        assert said.endswith("fix it, then `hub-import replay --failed`")
        assert verdict(stack, skipped) == ("skipped: type not allowed (extension 'exe', content type "
                                           "'application/octet-stream')")
        assert verdict(stack, twice) == "in the Hub 2 times: run `hub-import audit --fix`"
        said = verdict(stack, f"gs://{bucket.name}/trace-{run}/poison.jpg")
        assert said.startswith("dead-lettered: not a JSON message"), said
        assert verdict(stack, f"gs://{bucket.name}/trace-{run}/never.jpg").startswith(
            "not seen yet: not in the bucket, and nothing of it reached the product")
        # AND --json has every part, each as the product holds it
        done = cli(stack, "trace", imported.uri, "--json")
        t = json.loads(done.stdout)
        assert set(t) == {"uri", "object", "rules", "ledger", "manifests", "dead_letters", "hub", "storage", "outcome",
                      "verdict", "health", "held", "swept"}
        assert t["outcome"] == "in_hub" and t["object"]["generation"] == imported.generation
        assert t["rules"]["route"]["project"] == stack["HUB_PROJECT_ID"]
        assert [r["manifest_sent"] for r in t["ledger"]] == [True]
        assert [m["state"] for m in t["manifests"]] == ["sent"] and t["manifests"][0]["path"] == t["ledger"][0]["manifest"]
        assert [c["id"] for c in t["hub"]["copies"]] == [held[0]["_id"]] and t["hub"]["copies"][0]["ours"]
        assert t["dead_letters"] == []
    finally:
        take_dead_letters(stack, lambda letter: letter.attributes.get("bucket") == bucket.name, 2, timeout=10)


def own_history(run: str) -> dict:
    """Settings that keep a test's manifests apart (its flushes see no other test's pending
    manifests or due checks, and leave none behind for others)."""
    return {"MANIFEST_PREFIX": f"manifests-{run}/"}


def test_trace_shows_a_file_waiting_in_a_pending_manifest_until_a_flush_sends_it(stack):
    # GIVEN a flush that could not send its manifest in time (one Hub call a half minute)
    run = uuid.uuid4().hex[:8]
    bucket = storage_client().create_bucket(f"trace-{run}")
    # no batches: a batch name costs a project read, which a flush makes before it writes a manifest
    stack = {**own_state(stack, "trace", queue=True), "LANDING_BUCKET": bucket.name, "HUB_BATCHES": ""}
    ref = landed(bucket, "waiting.jpg")
    publish(stack, [ref])
    run_flush(stack, HUB_REQUESTS_PER_MINUTE=2, **own_history(run))
    # WHEN it is traced, THEN it is waiting in its pending manifest, with the attempt and the reason
    t = json.loads(cli(stack, "trace", ref.uri, "--json", **own_history(run)).stdout)
    assert t["outcome"] == "pending" and [m["label"] for m in t["manifests"]] == ["pending"], t
    assert t["verdict"] == (f"waiting in pending manifest {t['manifests'][0]['path']} (attempt 1, Hub unavailable "
                            f"until the deadline: no request slot left before the deadline)")
    # AND once a flush sends it, it is in the Hub once
    run_flush(stack, **own_history(run))
    assert verdict(stack, ref, **own_history(run)).startswith("in the Hub once since")


def test_trace_shows_a_file_settling_after_a_lost_answer_and_then_in_the_hub_once(stack):
    # GIVEN an import the Hub answered without storing anything and without saying so plainly
    run = uuid.uuid4().hex[:8]
    bucket = storage_client().create_bucket(f"trace-{run}")
    stack = {**own_state(stack, "trace", queue=True), "LANDING_BUCKET": bucket.name}
    ref = landed(bucket, "settling.jpg")
    publish(stack, [ref])
    h = hub(stack)
    h.faults(short_created=1.0, short_created_as="status_fail")
    failed_before = h.stats()["requests"].get("short created", {}).get("status fail", 0)
    try:
        run_flush(stack, **own_history(run))
    finally:
        h.faults(short_created=0.0)
    assert h.stats()["requests"].get("short created", {}).get("status fail", 0) > failed_before, "the fault never fired"
    # WHEN it is traced, THEN it is settling, and says when the Hub is asked again
    said = verdict(stack, ref, **own_history(run))
    assert said.startswith("settling: an import's answer was lost; asked again after 20"), said
    # AND after the settle time a flush finds it absent, sends it, and it is in the Hub once
    time.sleep(float(stack["HUB_SETTLE_SECONDS"]))  # (a time the product waits, not an outcome)
    deadline = time.monotonic() + 60
    while said.startswith("settling") and time.monotonic() < deadline:  # polled, under a deadline
        run_flush(stack, **own_history(run))
        said = verdict(stack, ref, **own_history(run))
    assert said.startswith("in the Hub once since"), said


def test_make_ups_settings_reach_both_functions(stack):
    # The session stack is started with settings (conftest.SETTINGS); each function process has them.
    state_dir = Path(stack["STATE_DIR"])
    for function in ("ingest", "flush"):
        pid = int((state_dir / f"{function}.pid").read_text())
        environ = dict(line.split("=", 1) for line in
                       Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0") if "=" in line)
        assert environ["HUB_ROUTES"] == stack["HUB_ROUTES"] and environ["FLUSH_BUDGET_SECONDS"] == "5", function
        assert ("HUB_API_KEY" in environ) == (function == "flush"), "only the flush gets the key"
