"""Red team: `python -m hub_import replay` (finish stuck pending manifests now) races an import
whose outcome is unknown, which the scheduled flush would have let settle."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

from deploy.local.processes import ROOT
from tests.integration.conftest import LEASE_S
from tests.integration.flushing import assert_once, flush_until_idle, held, own_queue, publish, refs, run_flush
from tests.integration.redteam import stack, the_hub  # noqa: F401, F811 - fixtures

SETTLE_S = 30
RUN = {"MAX_ASSETS_PER_MANIFEST": 20, "HUB_REQUESTS_PER_MINUTE": 6000, "HUB_SETTLE_SECONDS": SETTLE_S}


def replay(stack) -> dict:
    env = {**os.environ, **stack, "LOG_LEVEL": "WARNING", **{k: str(v) for k, v in RUN.items()}}
    done = subprocess.run([sys.executable, "-m", "hub_import", "replay", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_replay_of_a_dead_flushs_manifest_waits_for_the_settle_time_as_the_flush_does(stack, the_hub):
    # GIVEN a flush killed right after the Hub answered its import 504 (FLUSH_CRASH_AT=after-hub),
    # whose import the Hub stores 25 s later (within the settle time of 30 s)
    prefix = f"rt-replay-{uuid.uuid4().hex[:6]}/"
    stack = {**stack, **own_queue(stack, prefix.rstrip("/"))}  # its flushes pull its 20 messages only
    messages = publish(stack, refs(prefix, 20))
    the_hub.faults(slow_commit=1.0, slow_commit_delay_s=25.0)
    started = time.monotonic()
    assert run_flush(stack, crash_at="after-hub", **RUN) is None
    the_hub.faults(slow_commit=0.0)
    # WHEN its lease has run out, the scheduled flush leaves the manifest alone (it settles at
    # lease_until + HUB_SETTLE_SECONDS) ...
    time.sleep(max(0.0, started + LEASE_S + 1 - time.monotonic()))
    scheduled = run_flush(stack, **RUN)
    assert scheduled["sent"] == 0 and scheduled["resumed_manifests"] == 0, scheduled
    # ... but an operator runs `replay` for the stuck manifest
    report = replay(stack)
    # AND the import lands
    time.sleep(max(0.0, started + 25 + 2 - time.monotonic()))
    # THEN each file is in the Hub once. (replay's pending branch sets uncertain_since but checks
    # not_before only when uncertain_since was already set: a dead flush's manifest is reconciled
    # at once, found absent, and sent again; it also skips _keep_own_assets.)
    counts = held(stack, prefix)
    assert max(counts.values()) == 1, json.dumps({"doubled": sum(n - 1 for n in counts.values()),
                                                  "replay": report["manifests"]})
    flush_until_idle(stack, expect=messages, **RUN)
    assert_once(stack, messages)
