"""The README's shell snippets run as written, against the local stack the integration tests start.

Which blocks run: every fenced block whose info string is exactly `sh`. The README marks the others
by what they need (the comment at its top): `sh gcp` (a GCP project, Terraform), `sh install`
(installs on this machine), `sh make` (starts a stack or a suite of its own: `make demo` is
tests/integration/test_demo.py's), and `text`, `hcl`, `python` for output, synopses and other
languages. A block without an info string, or with one this test does not know, fails it, so no
shell snippet is left unclassified (and so untested).

How they run: one bash (`-e -o pipefail`) per block, in README order, in a scratch directory laid
out as a clone's top (`.venv`, `deploy` and `hub_import` linked to the repository's) whose
`.local/stack.env` is the session stack's own, written by the launcher `make up` runs. Each shell
has sourced it first, as the README says any shell does. A line `make up` or `make down` is the
stack's lifecycle, which the session fixture plays (the stack is up already and stays up for the
other tests); while the snippets run, a scheduler calls the flush every 5 seconds, as `make up`'s
does. Everything else runs as written.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from deploy.local.processes import ROOT

README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^( *)```([^\n`]*)\n(.*?)^\1```[ \t]*$", re.M | re.S)
NOT_RUN = {"sh gcp", "sh install", "sh make", "text", "hcl", "python"}
LIFECYCLE = re.compile(r"^make (up|down)\b.*$", re.M)


def blocks() -> list[tuple[str, str, str]]:
    """(the heading it sits under, its info string, its text) for every fenced block, in order."""
    found = []
    for match in FENCE.finditer(README):
        headings = re.findall(r"^#+ (.+)$", README[:match.start()], re.M)
        body = "\n".join(line[len(match.group(1)):] for line in match.group(3).splitlines())
        found.append((headings[-1] if headings else "", match.group(2).strip(), body))
    return found


def runnable() -> list[tuple[str, str]]:
    return [(heading, body) for heading, info, body in blocks() if info == "sh"]


def test_every_block_says_what_it_is_and_the_explore_snippet_is_among_those_run():
    unknown = [(heading, info, body[:60]) for heading, info, body in blocks() if info != "sh" and info not in NOT_RUN]
    assert not unknown
    explore = [body for heading, body in runnable() if heading == "The local stack, to explore"]
    assert len(explore) == 1 and "make up" in explore[0] and "hub_import trace" in explore[0]


@pytest.fixture
def clone(stack, tmp_path):
    """A scratch clone top: the repository's code, the session stack's stack.env, gcloud's own
    config; and a scheduler calling the flush every 5 s, as `make up` starts one (in a thread, so
    that it stops between calls: no flush of its own outlives the test to hold the lease)."""
    for name in (".venv", "deploy", "hub_import"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / ".local").mkdir()
    shutil.copy(Path(stack["STATE_DIR"]) / "stack.env", tmp_path / ".local" / "stack.env")
    stop = threading.Event()

    def scheduler():  # as deploy/local/scheduler.py: one call at a time, one every 5 s
        while not stop.is_set():
            started = time.monotonic()
            try:
                requests.post(stack["FLUSH_URL"], timeout=120)
            except requests.RequestException:
                pass
            stop.wait(max(0.0, 5 - (time.monotonic() - started)))

    calling = threading.Thread(target=scheduler, daemon=True)
    calling.start()
    yield tmp_path
    stop.set()
    calling.join(130)


def run(block: str, cwd: Path) -> subprocess.CompletedProcess:
    script = LIFECYCLE.sub(lambda m: f"true  # played by the session stack: {m.group(0)}", block)
    env = {**os.environ, "CLOUDSDK_CONFIG": str(cwd / ".gcloud")}
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", ". .local/stack.env\n" + script], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=180)


def test_the_readmes_shell_snippets_run_as_written_on_the_local_stack(clone):
    # GIVEN the local stack, as `make up` leaves it; WHEN each runnable snippet runs in README order
    done = {}
    for heading, body in runnable():
        result = run(body, clone)
        # THEN each exits 0
        assert result.returncode == 0, f"{heading}:\n{body}\n--- stdout\n{result.stdout[-3000:]}\n" \
                                       f"--- stderr\n{result.stderr[-3000:]}"
        done.setdefault(heading, []).append(result)
    # AND the explore snippet shows what it says: the photo in the Hub, its status and its story
    [explore] = done["The local stack, to explore"]
    assert re.search(r'"externalId": "a b\.jpg"', explore.stdout), explore.stdout[-2000:]
    assert re.search(r"^verdict: in the Hub once since ", explore.stdout, re.M), explore.stdout[-2000:]
    # AND the metadata example set the metadata it names, on the local bucket
    [metadata] = done["Metadata and batch templates"]
    assert "camera" in metadata.stdout and "cam7" in metadata.stdout and "north" in metadata.stdout, metadata.stdout
