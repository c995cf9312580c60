"""The sweep on a local stack of its own, as `SWEEP_EVERY_MINUTES=1 make up` runs it (the scheduler
calling the flush every few seconds and the sweep every minute, both served from the artifact):
events are lost for 40 of 60 files (the Eventarc bridge acknowledges them and never delivers them,
as Eventarc drops a delivery it gave up on), live events go on for the other 20 beside them. All 60
are in the Hub once within 3 minutes; `status` shows the sweep that found them, and `trace` of a
lost file says the sweep brought it in.

Its own stack, not the session's: the sweep lists the whole landing bucket, and the session's
other tests keep files there under ledgers of their own (own_state) that this sweep must not take.
It talks to its stack over HTTP and through commands only (the package's clients, cached per
process, belong to the session's stack)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from deploy.local import stack as local_stack
from deploy.local.processes import ROOT
from deploy.local.samples import make_image
from tests.integration.flushing import STACK_FAULTS, hub

SETTINGS = {"HUB_BATCHES": "incoming", "HUB_CREATE_BATCHES": "true", "FLUSH_BUDGET_SECONDS": "10",
            "SWEEP_EVERY_MINUTES": "1", "SWEEP_GRACE_SECONDS": "0"}
RUN = "sweepproof/"
LOST, LIVE = 40, 20


@pytest.fixture(scope="module")
def sweeping(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("sweep-stack")
    env = local_stack.up(state_dir, scheduler_every=5, settings=SETTINGS, hub_faults=STACK_FAULTS)
    env["STATE_DIR"] = str(state_dir)
    yield env
    local_stack.down(state_dir)


def landing_bucket(env):
    """A storage client of this stack (not the process's cached one)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    saved = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = env["STORAGE_EMULATOR_HOST"]
    try:
        client = storage.Client(project=env["GOOGLE_CLOUD_PROJECT"], credentials=AnonymousCredentials())
    finally:
        if saved is None:
            os.environ.pop("STORAGE_EMULATOR_HOST")
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = saved
    return client.bucket(env["LANDING_BUCKET"])


def command(env, *args) -> str:
    done = subprocess.run([sys.executable, "-m", "hub_import", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env, "LOG_LEVEL": "WARNING"}, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def sweep_lines(env) -> list[dict]:
    text = (Path(env["STATE_DIR"]) / "sweep.log").read_text(errors="replace")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"sweep done"' in line]


@pytest.mark.timeout(600)
def test_files_whose_events_were_lost_reach_the_hub_once_within_three_minutes(sweeping):
    # GIVEN a stack whose bridge loses the events of every file under lost/
    (Path(sweeping["STATE_DIR"]) / local_stack.LOSE_EVENTS).write_text(RUN + "lost/\n")
    bucket = landing_bucket(sweeping)
    image = make_image("JPEG", 64, 48)
    names = []
    # WHEN 40 files land whose events are lost, and 20 beside them whose events come
    for i in range(LOST + LIVE):
        name = f"{RUN}{'lost' if i % 3 else 'live'}/{i:03d}.jpg"
        bucket.blob(name).upload_from_string(image, content_type="image/jpeg")
        names.append(name)
    landed = time.monotonic()
    lost = [n for n in names if "/lost/" in n]
    assert len(lost) == LOST
    # THEN all 60 are in the Hub, each once, within 3 minutes (the sweep every minute, flushes every 5 s)
    held: Counter = Counter()
    while time.monotonic() - landed < 180:
        held = Counter(a["externalId"] for a in hub(sweeping).all_assets(sweeping["HUB_PROJECT_ID"])
                       if a["externalId"].startswith(RUN))
        if len(held) == len(names):
            break
        time.sleep(2)
    took = time.monotonic() - landed
    assert sorted(held) == sorted(names), {"missing": sorted(set(names) - set(held))[:5], "after_s": round(took)}
    time.sleep(10)  # a copy made late (the sweep's message and the event's both imported) would show now
    held = Counter(a["externalId"] for a in hub(sweeping).all_assets(sweeping["HUB_PROJECT_ID"])
                   if a["externalId"].startswith(RUN))
    assert set(held.values()) == {1}, [n for n, c in held.items() if c > 1][:5]
    # and the live ones came by their events (the ingest function logged them), the lost ones did not
    ingest = (Path(sweeping["STATE_DIR"]) / "ingest.log").read_text(errors="replace")
    assert all(f'"object": "gs://landing/{n}"' in ingest for n in names if "/live/" in n)
    assert not any(f'"object": "gs://landing/{n}"' in ingest for n in lost)
    # and the sweep said what it found: one line a sweep, the lost ones queued as missed
    lines = sweep_lines(sweeping)
    assert sum(line["queued"] for line in lines) >= LOST and all(line["severity"] in ("INFO", "WARNING") for line in lines)
    assert any(line["queued"] and line["severity"] == "WARNING" for line in lines)
    print(f"\nsweep proof: {LOST} lost + {LIVE} live in the Hub once after {took:.0f} s; sweeps: "
          + json.dumps([{k: line[k] for k in ("listed", "known", "queued", "list_calls", "seconds")} for line in lines]))
    # and status shows the last sweep, trace of a lost file says the sweep brought it in
    status = command(sweeping, "status")
    assert "last sweep: " in status, status
    trace = command(sweeping, "trace", f"gs://landing/{lost[0]}")
    assert "came in" in trace and "by the sweep" in trace and "its event never came" in trace, trace
