"""One apply, then the Hub UI: a stack deployed with HUB_STORAGE_ID empty and no storage
integration in the Hub. Files uploaded meanwhile wait (nothing in the Hub, nothing dead-lettered);
`status`, `check` and `trace` say it is waiting and what to do; once the integration is created
in the Hub they arrive on their own, each once, bound to it, with no backfill and no restart.

The stack is started as `HUB_STORAGE_ID= make up` starts it (`python -m deploy.local.stack up`), in
a state directory of its own, with the scheduler calling the flush every 5 seconds; every check
is a command a user runs, or the Hub stand-in's own listing."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time

import pytest
import requests

from deploy.local.processes import ROOT
from hub_import.core.settings import ENV

NAMES = ["cams/a b.jpg", "cams/ü #1.jpg", "scans/c.png"]
WAITING = ("waiting for a Hub storage integration for bucket landing: create it in the Hub (Organization > "
           "Storages); nothing to re-apply")
PROJECT = "demo-project"


def _clean_env() -> dict:
    """This process's environment without any product setting or emulator a session stack put there."""
    ours = set(ENV) | {"PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST", "GCS_DIRECT_HOST", "GCS_FAULTS_URL"}
    return {k: v for k, v in os.environ.items() if k not in ours}


@pytest.fixture(scope="module")
def waiting_stack(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("discovery")
    up = subprocess.run([sys.executable, "-m", "deploy.local.stack", "up", "--dir", str(state_dir)], cwd=ROOT,
                        env={**_clean_env(), "HUB_STORAGE_ID": "", "FLUSH_BUDGET_SECONDS": "20"},
                        capture_output=True, text=True, timeout=240)
    try:
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
        env = dict(_clean_env())
        for line in (state_dir / "stack.env").read_text().splitlines():
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                env[name] = shlex.split(value)[0] if value else ""
        env["STATE_DIR"] = str(state_dir)
        yield env
    finally:
        subprocess.run([sys.executable, "-m", "deploy.local.stack", "down", "--dir", str(state_dir)], cwd=ROOT,
                       capture_output=True, timeout=60)


def cli(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub_import", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def upload(env, name: str) -> None:
    answer = requests.post(f"{env['STORAGE_EMULATOR_HOST']}/upload/storage/v1/b/landing/o",
                           params={"uploadType": "media", "name": name}, data=b"\xff\xd8\xff not quite a jpeg",
                           headers={"Content-Type": "image/jpeg"}, timeout=10)
    assert answer.status_code == 200, answer.text


def in_hub(env) -> list[dict]:
    return requests.get(f"{env['HUB_API_URL']}/_admin/assets", params={"project": PROJECT}, timeout=10).json()["assets"]


def until(what, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s")


def log_lines(env, name: str) -> list[dict]:
    """The JSON lines of a stack process's log (STATE_DIR/NAME.log)."""
    lines = []
    with open(os.path.join(env["STATE_DIR"], f"{name}.log"), encoding="utf-8", errors="replace") as f:
        for text in f:
            try:
                lines.append(json.loads(text))
            except ValueError:
                pass  # functions-framework's own lines
    return lines


def test_files_wait_for_the_storage_integration_then_arrive_once_each_without_a_backfill(waiting_stack):
    env = waiting_stack
    # GIVEN a deployment whose Hub has no storage integration yet, and files landing in its bucket
    for name in NAMES:
        upload(env, name)
    until(lambda: {m.get("object") for m in log_lines(env, "ingest") if m.get("message") == "queued"}
          >= {f"gs://landing/{n}" for n in NAMES}, timeout=60)
    # WHEN flushes run (the scheduler calls one every 5 s) ... THEN they pull nothing and say why
    until(lambda: sum(m.get("message") == WAITING for m in log_lines(env, "flush")) >= 2, timeout=60)
    assert in_hub(env) == []
    status = cli(env, "status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[0].startswith(WAITING), status.stdout  # the health line leads
    assert f"storage: {WAITING}" in status.stdout
    assert "dead-letter backlog: 0" in status.stdout
    check = cli(env, "check")
    assert check.returncode == 1 and f"FAIL Hub storage integration for bucket landing: {WAITING}" in check.stdout
    trace = cli(env, "trace", "gs://landing/cams/a b.jpg")
    assert f"verdict: queued: {WAITING}; it goes in on its own" in trace.stdout, trace.stdout + trace.stderr
    assert cli(env, "storages").stdout.strip() == "no storage integrations in this organization"

    # WHEN someone creates the integration in the Hub UI (nothing re-applied, nothing restarted)
    made = requests.post(f"{env['HUB_API_URL']}/_admin/storages", json={"_id": "made-in-the-ui", "bucket": "landing"},
                         timeout=10)
    assert made.status_code < 300, made.text
    # THEN every file arrives on its own, once, bound to it
    until(lambda: len(in_hub(env)) >= len(NAMES), timeout=60)
    # (two more flushes, counted from the flush's log rather than slept for: nothing comes twice)
    flushes = sum(m.get("message") == "flush done" for m in log_lines(env, "flush"))
    until(lambda: sum(m.get("message") == "flush done" for m in log_lines(env, "flush")) >= flushes + 2, timeout=60)
    assets = in_hub(env)
    assert sorted(a["externalId"] for a in assets) == sorted(NAMES)
    assert {a.get("storage") for a in assets} == {"made-in-the-ui"}
    status = cli(env, "status")
    assert "storage: Hub storage integration made-in-the-ui reads bucket landing" in status.stdout
    assert "dead-letter backlog: 0" in status.stdout
    listed = cli(env, "storages").stdout
    assert "made-in-the-ui" in listed and "<- the landing bucket" in listed
    assert "verdict: in the Hub once" in cli(env, "trace", "gs://landing/" + NAMES[1]).stdout
