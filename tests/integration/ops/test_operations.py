"""The operations CLI on the local stack: backfill, replay, status and check, as a user runs them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from deploy.local.processes import ROOT
from hub_import.core.clients import storage_client
from hub_import.hub import HubClient
from tests.integration.flushing import (flush_until_idle, held, hub, own_state, publish, record, refs, run_flush,
                                        take_dead_letters)
from tests.integration.conftest import wait_for_ingest


def cli(stack, *args, **settings) -> subprocess.CompletedProcess:
    env = {**os.environ, **stack, **{k: str(v) for k, v in settings.items()}}
    return subprocess.run([sys.executable, "-m", "hub_import", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def fill_bucket(name: str, files: dict[str, bytes]):
    bucket = storage_client().create_bucket(name)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda kv: bucket.blob(kv[0]).upload_from_string(kv[1], content_type="image/jpeg"),
                      files.items()))
    return bucket


def in_the_bucket(stack, objects) -> None:
    """Put `objects` in the landing bucket (a failed file is replayed as the generation live now,
    and one gone from the bucket is not replayed), taking their ingest messages off the stack's
    queue, so that only what the test published is flushed."""
    from deploy.local.samples import make_image
    from hub_import.core.clients import storage_client
    from tests.integration.conftest import pull_until

    bucket = storage_client().bucket(stack["LANDING_BUCKET"])
    for ref in objects:
        bucket.blob(ref.name).upload_from_string(make_image("JPEG", 64, 48), content_type="image/jpeg")
    names = {ref.name for ref in objects}
    assert len(pull_until(stack, lambda m: m.attributes.get("name") in names, len(names), timeout=60)) >= len(names)


def manifest_count(stack) -> int:
    return sum(1 for _ in storage_client().bucket(stack["STATE_BUCKET"]).list_blobs(
        prefix=stack.get("MANIFEST_PREFIX", "manifests/")))


@pytest.mark.timeout(900)  # bounded below: flushed until the outcome, within 600 s a phase
def test_backfill_imports_each_eligible_object_once_and_a_second_run_imports_none(stack):
    # a queue and ledger of its own: another test's flush on the shared queue would pull (and
    # count as duplicates in its own summaries) some of this test's second-run messages
    # (the bucket is this test's landing bucket: the flush imports no other bucket's objects, issue 22)
    run = uuid.uuid4().hex[:8]
    stack = {**own_state(stack, "backfill", queue=True), "LANDING_BUCKET": f"archive-{run}"}
    # GIVEN a bucket that already holds 2,000 objects, 200 of which the rules skip
    files = {f"old/{i:05d}.jpg": b"\xff\xd8\xff\xe0 small" for i in range(1800)}
    files.update({f"old/{i:05d}.exe": b"MZ" for i in range(200)})
    fill_bucket(f"archive-{run}", files)
    # WHEN it is backfilled and flushed
    first = cli(stack, "backfill", f"gs://archive-{run}/old", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["listed"], report["queued"], report["skipped"]) == (2000, 1800, 200)
    # (a flush out of time defers what it holds, and under load some deferred messages have been
    # seen to stay away for minutes: each flush gets a minute, and flushes go on until the outcome)
    budget = {"FLUSH_BUDGET_SECONDS": 60}
    archived = lambda: [a for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"])  # noqa: E731
                        if f"/archive-{run}/" in a["data"]]
    deadline = time.monotonic() + 600
    flush_until_idle(stack, **budget)
    while len(archived()) < 1800 and time.monotonic() < deadline:
        flush_until_idle(stack, **budget)
    # THEN each eligible object is in the Hub once
    assets = archived()
    assert len(assets) == 1800 and len({a["externalId"] for a in assets}) == 1800
    # AND a second backfill queues them again, but the flush sends none of them
    again = cli(stack, "backfill", f"gs://archive-{run}/old")
    assert again.returncode == 0 and "1800 queued" in again.stdout
    summaries = flush_until_idle(stack, **budget)
    deadline = time.monotonic() + 600
    while sum(s["duplicates"] for s in summaries) < 1800 and time.monotonic() < deadline:
        summaries += flush_until_idle(stack, **budget)
    totals = {k: sum(s[k] for s in summaries) for k, v in summaries[0].items() if type(v) is int}
    # (at least 1800: a first-run message delivered again is a duplicate too)
    assert totals["sent"] == 0 and totals["duplicates"] >= 1800, json.dumps(totals)
    assert len(archived()) == 1800


def test_a_backfill_beside_live_events_imports_each_object_once(stack):
    prefix = f"live-{uuid.uuid4().hex[:8]}/"
    bucket = storage_client().bucket(stack["LANDING_BUCKET"])
    names = [f"{prefix}{i:04d}.jpg" for i in range(300)]

    def upload():
        for name in names:
            bucket.blob(name).upload_from_string(b"\xff\xd8\xff\xe0 live", content_type="image/jpeg")

    uploader = threading.Thread(target=upload)
    uploader.start()
    deadline = time.monotonic() + 60  # a bounded wait: an uploader that died must not hang the suite
    while sum(1 for _ in bucket.list_blobs(prefix=prefix)) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    done = cli(stack, "backfill", f"gs://{stack['LANDING_BUCKET']}/{prefix}")
    uploader.join()
    assert done.returncode == 0, done.stderr
    wait_for_ingest(stack, prefix, "queued", len(names))  # every upload's event reached the queue (logged after it publishes)
    flush_until_idle(stack)
    counts = held(stack, prefix)
    assert len(counts) == 300 and set(counts.values()) == {1}


def test_a_dry_run_counts_per_route_and_reason_and_changes_nothing(stack):
    # a queue, ledger and manifests of its own: "nothing queued" and "nothing written" are then this
    # run's, not whatever an earlier test on this worker left in the stack's one queue
    run = uuid.uuid4().hex[:8]
    stack = own_state(stack, "dry", queue=True)
    files = {f"a/{i}.jpg": b"x" for i in range(20)}
    files.update({"a/setup.exe": b"MZ", "a/empty.jpg": b""})
    fill_bucket(f"dry-{run}", files)
    manifests = manifest_count(stack)
    done = cli(stack, "backfill", f"gs://dry-{run}", "--dry-run", LANDING_BUCKET=f"dry-{run}")
    assert done.returncode == 0, done.stderr
    assert "22 files listed: 20 new, 0 already in the Hub (the ledger says sent), 2 skipped" in done.stdout
    assert "type not allowed" in done.stdout and "empty object" in done.stdout and "(dry run" in done.stdout
    assert run_flush(stack)["pulled"] == 0, "no message was queued"
    assert [n for n in files if record({**stack, "LANDING_BUCKET": f"dry-{run}"}, stack, n)] == [] \
        and manifest_count(stack) == manifests == 0


def test_replay_sends_a_failed_manifest_once_the_hub_accepts_it_and_nothing_twice(stack):
    # GIVEN assets routed to a storage integration the Hub does not have yet (HUB_STORAGE_ID): they fail
    run = uuid.uuid4().hex[:8]
    storage_id = f"late-{run}"
    stack = {**own_state(stack, "replay"), "HUB_STORAGE_ID": storage_id}
    objects = refs(f"replay-{run}/", 12)
    publish(stack, objects)
    summaries = flush_until_idle(stack)
    assert sum(s["failed"] for s in summaries) == 12 and held(stack, f"replay-{run}/") == {}
    status = cli(stack, "status", "--json")
    failed = [a for a in json.loads(status.stdout)["failed_assets"] if f"replay-{run}/" in a["object"]]
    assert len(failed) == 12 and "unknown storage id" in failed[0]["reason"]
    # WHEN the storage integration is created, and the failed manifests replayed
    requests.post(f"{stack['HUB_API_URL']}/_admin/storages", json={"_id": storage_id}, timeout=10).raise_for_status()
    in_the_bucket(stack, objects)
    done = cli(stack, "replay", "--failed", "--json")
    assert done.returncode == 0, done.stderr
    mine = [m for m in json.loads(done.stdout)["manifests"] if m.get("sent")]
    # THEN each asset is in the Hub once, and the failed manifest is marked replayed
    assert sum(m["sent"] for m in mine) == 12, done.stdout
    counts = held(stack, f"replay-{run}/")
    assert len(counts) == 12 and set(counts.values()) == {1}
    # AND their dead letters are acked by the replay: none is left for `status` to show
    assert json.loads(done.stdout)["dead_letters_acked"] >= 12, done.stdout
    assert take_dead_letters(stack, lambda letter: f"replay-{run}/" in letter.object, 1, timeout=5) == []
    # AND a second replay leaves them alone (it may retry other tests' still-failing manifests)
    first = {m["manifest"] for m in json.loads(done.stdout)["manifests"] if m.get("sent")}
    second = cli(stack, "replay", "--failed", "--json")
    assert not first & {m["manifest"] for m in json.loads(second.stdout)["manifests"]}
    assert set(held(stack, f"replay-{run}/").values()) == {1}
    table = cli(stack, "status").stdout
    assert "failed, replayed" in table


def test_replay_of_a_manifest_already_in_the_hub_sends_nothing(stack):
    run = uuid.uuid4().hex[:8]
    storage_id = f"gone-{run}"
    # replay --failed sees this test's failed manifests only
    stack = {**own_state(stack, "already"), "HUB_STORAGE_ID": storage_id}
    objects = refs(f"already-{run}/", 5)
    publish(stack, objects)
    flush_until_idle(stack)
    in_the_bucket(stack, objects)
    # Somebody fixes it by hand: creates the storage and uploads the same assets in the Hub UI.
    requests.post(f"{stack['HUB_API_URL']}/_admin/storages", json={"_id": storage_id}, timeout=10).raise_for_status()
    from hub_import.core.assets import build_asset
    HubClient(stack["HUB_API_URL"], stack["HUB_API_KEY"], requests_per_minute=0).import_assets(
        stack["HUB_PROJECT_ID"], [build_asset(r, storage=storage_id) for r in objects])
    done = cli(stack, "replay", "--failed", "--json")
    assert done.returncode == 0, done.stderr
    mine = [m for m in json.loads(done.stdout)["manifests"] if m.get("assets") == 5]
    assert mine and mine[0]["already_in_hub"] == 5 and mine[0]["sent"] == 0, done.stdout
    assert set(held(stack, f"already-{run}/").values()) == {1}


def test_check_passes_on_a_healthy_stack(stack):
    done = cli(stack, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout and "Hub API key" in done.stdout and "subscription" in done.stdout


@pytest.mark.parametrize("settings,named", [
    ({"HUB_API_KEY": "wrong-key"}, ["FAIL Hub API key: refused (401)"]),
    # the storage integration reads the bucket the settings no longer name: both are said
    ({"LANDING_BUCKET": "no-such-bucket"}, ["FAIL landing bucket: gs://no-such-bucket does not exist",
                                            "FAIL Hub storage demo-storage: gcs bucket landing, not the landing bucket "
                                            "no-such-bucket"]),
    ({"HUB_STORAGE_ID": "no-such-storage"}, ["FAIL Hub storage no-such-storage: no such storage integration"]),
    ({"HUB_PROJECT_ID": "no-such-project"}, ["FAIL Hub project no-such-project: not found"]),
    ({"PUBSUB_SUBSCRIPTION": "nope"}, ["FAIL subscription"]),
])
def test_check_names_each_failure_with_a_fix_and_exits_1(stack, settings, named):
    done = cli(stack, "check", **settings)
    assert done.returncode == 1, done.stdout + done.stderr
    for line in named:
        assert line in done.stdout and "fix:" in done.stdout or line.startswith("FAIL subscription"), done.stdout
    assert done.stdout.count("FAIL") == len(named)


def test_a_bad_setting_is_named_and_exits_2(stack):
    done = cli(stack, "status", HUB_PRIORITY="urgent")
    assert done.returncode == 2 and "HUB_PRIORITY" in done.stderr


def test_check_finds_our_storage_among_12_and_reports_how_the_hub_behaves(stack):
    # GIVEN an organization with 12 more storage integrations, newer than ours (the default page is 10)
    extra = [{"_id": f"extra-{uuid.uuid4().hex[:6]}-{i}", "bucket": "elsewhere"} for i in range(12)]
    requests.post(f"{stack['HUB_API_URL']}/_admin/storages", json=extra, timeout=10).raise_for_status()
    h = hub(stack)
    c = HubClient(stack["HUB_API_URL"], stack["HUB_API_KEY"], requests_per_minute=0)
    from hub_import.core.assets import build_asset
    from hub_import.core.objects import ObjectRef
    for i in range(2):  # two imports a moment apart, so the listing shows an order
        c.import_assets(stack["HUB_PROJECT_ID"], [build_asset(ObjectRef("landing", f"probe-{uuid.uuid4().hex}", 1),
                                                               storage=stack["HUB_STORAGE_ID"])])
        time.sleep(0.05)
    try:
        # WHEN the Hub lists oldest first whatever `sort` says, and its filter matches substrings
        h.faults(list_order="oldest_first", external_id_filter="substring")
        done = cli(stack, "check")
    finally:
        h.faults(list_order="honoured", external_id_filter="exact")
    # THEN check passes, and says so
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok   Hub storage {stack['HUB_STORAGE_ID']}" in done.stdout
    assert "storages listing: 10 without limit" in done.stdout and "(paged" in done.stdout
    assert "listing order: oldest first" in done.stdout
    assert "externalId filter: matches substrings" in done.stdout


def test_audit_finds_a_duplicate_and_fix_removes_only_the_copy_we_made(stack):
    from hub_import.core.assets import build_asset
    from hub_import.core.objects import ObjectRef

    run = uuid.uuid4().hex[:6]
    # A project of its own: audit reads a whole project, and the shared one holds every test's files.
    stack = {**own_state(stack, "audit"), "HUB_PROJECT_ID": f"audit-{run}"}
    hub(stack).add_project(stack["HUB_PROJECT_ID"])
    objects = refs(f"audit-{run}/", 6)
    publish(stack, objects)
    flush_until_idle(stack)
    # GIVEN a copy made behind our back of one of ours, and a person's upload under another's id
    c = HubClient(stack["HUB_API_URL"], stack["HUB_API_KEY"], requests_per_minute=0)
    twin = build_asset(objects[0], storage=stack["HUB_STORAGE_ID"])
    c.import_assets(stack["HUB_PROJECT_ID"], [twin])
    by_hand = build_asset(ObjectRef("other-bucket", objects[1].name, 1), storage=stack["HUB_STORAGE_ID"])
    c.import_assets(stack["HUB_PROJECT_ID"], [by_hand])
    # WHEN audit looks, then fixes
    looked = cli(stack, "audit", "--json")
    fixed = cli(stack, "audit", "--fix", "--json")
    # THEN it names both, removes only our own extra copy, and keeps the oldest
    report = json.loads(looked.stdout)
    assert looked.returncode == 1 and report["duplicated"][objects[0].name] == 2
    assert report["duplicated"][objects[1].name] == 2 and not report["missing"]
    removed = json.loads(fixed.stdout)["removed"]
    assert [r["externalId"] for r in removed if r["externalId"].startswith(f"audit-{run}/")] == [objects[0].name]
    counts = held(stack, f"audit-{run}/")
    assert counts[objects[0].name] == 1 and counts[objects[1].name] == 2
    assert all(counts[o.name] == 1 for o in objects[2:])


def test_audit_counts_deliberate_deletions_as_deleted_and_exits_0(stack):
    from tests.integration.flush.test_deletions import FAST, delete, flush_until, import_files

    # GIVEN 5 files imported, 3 of them then deleted from the bucket (ON_DELETE=delete): the flush
    # removes their assets from the Hub
    run = f"audit-del-{uuid.uuid4().hex[:8]}/"
    state = {**own_state(stack, "auditdel"), **FAST}
    names = [f"{run}f{i}.txt" for i in range(5)]
    import_files(stack, state, names)
    delete(stack, names[:3])
    wait_for_ingest(stack, run, "deletion queued", 3)
    flush_until(state, lambda _: len(held(stack, run)) == 2)
    time.sleep(float(stack["HUB_SETTLE_SECONDS"]) + 1)  # (past the settle time: judged, not "too recent")
    # WHEN audit compares the history with the Hub
    done = cli(state, "audit")
    # THEN it counts them as deleted, nothing missing, and exits 0 (a cron job raises no alarm)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "missing: 0, deleted: 3" in done.stdout, done.stdout
    assert "audit:" not in done.stderr  # no progress where standard error is not a terminal
    body = json.loads(cli(state, "audit", "--json").stdout)
    assert sorted(body["deleted"]) == names[:3] and body["missing"] == []


def test_check_reports_a_batch_template_as_a_template_and_counts_every_line(stack):
    # GIVEN a batch template beside a plain batch name, and the flush not allowed to create batches
    done = cli(stack, "check", HUB_BATCHES="incoming,{date}", HUB_CREATE_BATCHES="false")
    # THEN the template is said to be filled per file, never looked for as a batch named "{date}"
    assert "template {date}: filled per file; creation not allowed" in done.stdout, done.stdout
    # (the stack's routes name a batch `night` that is missing: a plain name, still a failure)
    assert not [line for line in done.stdout.splitlines() if "{date}" in line and "FAIL" in line], done.stdout
    # AND the summary counts every ok line printed
    ok_lines = [line for line in done.stdout.splitlines() if line.startswith("ok   ")]
    assert done.stdout.splitlines()[-1].startswith(f"{len(ok_lines)} ok, "), done.stdout


def test_backfill_dry_run_tells_new_files_from_those_in_the_hub(stack):
    from tests.integration.flush.test_deletions import FAST, flush_until, upload

    # GIVEN 5 files in the Hub, and 1 more in the bucket that no flush has taken yet
    run = f"dry-{uuid.uuid4().hex[:8]}/"
    state = {**own_state(stack, "dryrun"), **FAST}
    names = [f"{run}f{i}.txt" for i in range(5)]
    upload(stack, names)
    flush_until(state, lambda _: len(held(stack, run)) == 5)
    upload(stack, [f"{run}new.txt"])
    # WHEN a dry run looks at the folder
    done = cli(state, "backfill", f"gs://{stack['LANDING_BUCKET']}/{run}", "--dry-run", "--json")
    # THEN the 5 are in the Hub (the ledger says so), the new one new, and nothing is queued
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["listed"], report["new"], report["in_hub"], report["skipped"]) == (6, 1, 5, 0), report
    verdicts = {f["object"].rsplit("/", 1)[-1]: f["verdict"] for f in report["files"]}
    assert verdicts["new.txt"] == "new" and {verdicts[n.rsplit("/", 1)[-1]] for n in names} == {"in_hub"}
    [route] = report["routes"]
    assert route["project"] == stack["HUB_PROJECT_ID"] and route["count"] == 6
