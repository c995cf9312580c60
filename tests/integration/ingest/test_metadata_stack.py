"""On the local stack, judged by what the Hub stand-in holds: a file's custom metadata arrives as
its asset's contextData, routes that one file when allowed, and names its batches; a runaway
batch template fails its manifest visibly instead of flooding the project."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

import requests

from deploy.local.processes import ROOT
from deploy.local.samples import make_image
from hub_import.core.clients import publisher_client, storage_client
from hub_import.core.objects import ObjectRef
from hub_import.ingest.handler import describe
from hub_import.ops.backfill import list_objects
from tests.integration.flushing import flush_until_idle, held, hub, own_state, report, settings, take_dead_letters

FAST = {"HUB_REQUESTS_PER_MINUTE": 0, "FLUSH_BUDGET_SECONDS": 10, "PROBE_IMAGE_SIZE": "false"}


def run_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}/"


def flush(stack, **extra) -> tuple[dict, list[dict]]:
    """One flush as a real process: its summary and its log lines."""
    env = {**os.environ, **stack, "LOG_LEVEL": "WARNING", **{k: str(v) for k, v in extra.items()}}
    done = subprocess.run([sys.executable, "-m", "hub_import", "flush"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in (done.stderr + done.stdout).splitlines() if line.startswith('{"')]
    return json.loads(done.stdout[done.stdout.index("{\n"):]), lines


def queue(stack, objects: list[ObjectRef], **extra) -> list:
    """Queue `objects` as the ingest function does with these settings (its own are the stack's)."""
    s = settings(stack, **FAST, **extra)
    messages = [describe(ref, s) for ref in objects]
    futures = [publisher_client().publish(s.topic_path, *m.encode()[:1], **m.encode()[1]) for m in messages if m]
    for f in futures:
        f.result(timeout=30)
    return messages


def synthetic(name: str, created: str = "2024-03-05T10:00:00Z", **metadata) -> ObjectRef:
    return ObjectRef("landing", name, 1000, 1000, "image/jpeg", time_created=created, metadata=metadata)


def batch_names(stack, project: str) -> dict[str, str]:
    """Batch id -> name in `project`."""
    answer = requests.get(f"{stack['HUB_API_URL']}/v2/project/{project}", headers={"apikey": stack["HUB_API_KEY"]},
                          timeout=10)
    return {b["_id"]: b["name"] for b in answer.json()["data"]["project"]["batches"]}


def test_custom_metadata_arrives_as_context_data_as_configured_and_a_value_too_big_is_left_out(stack, landing):
    # GIVEN files uploaded with custom metadata, one with a value over the limit
    run = run_id("context")
    files = {f"{run}a.png": {"camera": "cam7", "site": "north", "secret": "s3"},
             f"{run}b.png": {"camera": "cam8", "notes": "é" * 100}}  # 200 bytes in UTF-8
    for name, metadata in files.items():
        blob = landing.blob(name)
        blob.metadata = metadata
        blob.upload_from_string(make_image("PNG", 8, 6), content_type="image/png")
    # AND the listing (backfill's way in) reads the same metadata
    listed = {r.name: r.metadata for r in list_objects(landing, run, None)}
    assert listed == files
    # WHEN the events go through the real ingest function and the flush takes two of the keys
    own = own_state(stack, "context")
    extra = {**FAST, "HUB_CONTEXT_KEYS": "camera,notes,site", "MAX_CONTEXT_VALUE_BYTES": 64}
    lines: list[dict] = []
    for _ in range(30):
        summary, logged = flush(own, **extra)
        lines += logged
        if len(held(stack, run)) == len(files) and summary["queue_empty"]:
            break
        time.sleep(1)
    # THEN each is in the Hub once, with exactly the configured keys it has as its contextData
    assets = {a["externalId"]: a for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if a["externalId"].startswith(run)}
    assert held(stack, run) == {name: 1 for name in files}
    assert assets[f"{run}a.png"]["contextData"] == {"camera": "cam7", "site": "north"}
    assert assets[f"{run}b.png"]["contextData"] == {"camera": "cam8"}
    # AND the value left out is named in a warning, with the reason
    [warning] = [line for line in lines if line.get("object", "").endswith(f"{run}b.png") and "contextData" in line["message"]]
    assert warning["severity"] == "WARNING" and warning["key"] == "notes"
    assert "200 bytes" in warning["reason"] and "MAX_CONTEXT_VALUE_BYTES=64" in warning["reason"]
    report("contextData", files=len(files), in_hub=len(assets), left_out=1)


def test_metadata_routes_one_file_when_allowed_and_an_unknown_project_fails_visibly(stack):
    # GIVEN a second project, and files whose metadata route them: to it, to projects that do not
    # exist (with the route's batch, and with none), and with a priority that is not one
    run = run_id("override")
    other = f"other-{run.strip('/')}"
    hub(stack).add_project(other)
    extra = {"HUB_METADATA_OVERRIDES": "true", "HUB_ROUTES": json.dumps([{"prefix": f"{run}nobatch/", "batches": []}])}
    moved = [synthetic(f"{run}moved-{i}.jpg", **{"hub-project": other, "hub-priority": "-7",
                                                   "hub-batches": f"{run}meta"}) for i in range(3)]
    stays = synthetic(f"{run}stays.jpg", camera="c1")
    lost = [synthetic(f"{run}lost.jpg", **{"hub-project": "no-such-project"}),
            synthetic(f"{run}nobatch/lost.jpg", **{"hub-project": "no-such-project"})]
    bad = synthetic(f"{run}bad.jpg", **{"hub-priority": "urgent"})
    # WHEN ingest describes them and the flush sends them
    messages = queue(stack, moved + [stays] + lost + [bad], **extra)
    assert messages[-1] is None, "a priority that is not one skips the file"
    own = own_state(stack, "override")
    summaries = flush_until_idle(own, expect=[SimpleNamespace(ref=r) for r in [stays]], **FAST, **extra)
    # THEN the routed files are in the other project only, with their priority and batch
    theirs = [a for a in hub(stack).all_assets(other) if a["externalId"].startswith(run)]
    assert sorted(a["externalId"] for a in theirs) == sorted(r.name for r in moved)
    names = batch_names(stack, other)
    assert all(a["priority"] == -7 and [names[b] for b in a["batches"]] == [f"{run}meta"] for a in theirs)
    assert held(stack, run) == {stays.name: 1}, "the default project holds only the file without overrides"
    # AND the files sent to a project that does not exist are in failed manifests, dead-lettered
    failed = [p for s in summaries for p in s["manifests"] if p.endswith("-failed.json")]
    state = storage_client().bucket(stack["STATE_BUCKET"])
    in_failed = {a["externalId"]: json.loads(state.blob(p.removesuffix(".json") + ".state.json").download_as_bytes())
                 for p in failed for a in json.loads(state.blob(p).download_as_bytes())}
    assert sorted(in_failed) == sorted(r.name for r in lost)
    assert all(m["state"] == "failed" and "no-such-project" in m["error"] for m in in_failed.values())
    letters = take_dead_letters(stack, lambda letter: run in letter.object, len(lost))
    assert len(letters) == len(lost)
    report("metadata override", moved=len(theirs), failed=len(in_failed), skipped=1, flushes=len(summaries))


def test_batches_come_from_templates_and_a_runaway_template_fails_its_manifest_at_the_cap(stack):
    # GIVEN a route whose batches are named by each file's camera and upload day, a cap of 2
    # batches per template, and files from three cameras over two days
    run = run_id("tmpl")
    extra = {"HUB_ROUTES": json.dumps([{"prefix": run, "batches": ["{top}-{meta.camera}", "{top}-{date}"]}]),
             "MAX_TEMPLATE_BATCHES": 2}
    files = [synthetic(f"{run}{cam}-{day}-{i}.jpg", created=f"2024-03-0{day}T23:30:00Z", camera=cam)
             for cam in ("cam1", "cam2", "cam3") for day in (5, 6) for i in range(2)]
    messages = queue(stack, files, **extra)
    top = run.strip("/")
    assert {m.destination.batches for m in messages} == {(f"{top}-{c}", f"{top}-2024-03-0{d}")
                                                          for c in ("cam1", "cam2", "cam3") for d in (5, 6)}
    # WHEN the flush sends them
    own = own_state(stack, "tmpl")
    summaries = flush_until_idle(own, **FAST, **extra)
    # THEN two cameras' files are in the Hub once, each in its camera's and its day's batch
    names = batch_names(stack, stack["HUB_PROJECT_ID"])
    assets = [a for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if a["externalId"].startswith(run)]
    cameras = {a["externalId"][len(run):].split("-")[0] for a in assets}
    assert len(cameras) == 2 and len(assets) == 8 == len({a["externalId"] for a in assets})
    for a in assets:
        cam, day = a["externalId"][len(run):].split("-")[:2]
        assert sorted(names[b] for b in a["batches"]) == sorted([f"{top}-{cam}", f"{top}-2024-03-0{day}"])
    # AND the third camera made no batch: its files are in a failed manifest naming the template
    # and the cap, and on the dead-letter topic
    [third] = {"cam1", "cam2", "cam3"} - cameras
    assert f"{top}-{third}" not in names.values()
    assert sum(n.startswith(top) for n in names.values()) == 4
    assert sum(s["failed"] for s in summaries) == 4
    failed = [p for s in summaries for p in s["manifests"] if p.endswith("-failed.json")]
    state = storage_client().bucket(stack["STATE_BUCKET"])
    errors = {json.loads(state.blob(p.removesuffix(".json") + ".state.json").download_as_bytes())["error"] for p in failed}
    assert errors and all("'{top}-{meta.camera}'" in e and "MAX_TEMPLATE_BATCHES=2" in e for e in errors)
    letters = take_dead_letters(stack, lambda letter: run in letter.object, 4)
    assert len(letters) == 4 and all("MAX_TEMPLATE_BATCHES=2" in letter.reason for _, letter in letters)
    report("batch templates", files=len(files), in_hub=len(assets), failed_at_cap=4,
           batches_made=sum(n.startswith(top) for n in names.values()))
