"""Red team: a manifest's lease (and the flush lease) is claim_timeout_s = 2 * FLUSH_BUDGET_SECONDS
+ 10, but an import started just before the budget ends may stay in flight for the client's read
timeout (60 s). With a budget under 50 s the lease runs out while the import is still open: the
next flush takes the manifest as abandoned, counts the settle time from lease_until (not from the
end of the request), reconciles, and sends again while the first request can still be stored;
heal's one check comes HEAL_AFTER_SETTLES settle times after that resend, possibly before the
first request lands."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

from deploy.local.processes import ROOT
from tests.integration.flushing import held, publish, refs, run_flush
from tests.integration.redteam import stack, the_hub  # noqa: F401, F811 - fixtures

# The client waits as long as the Hub holds the request (HUB_TIMEOUT_SECONDS 60, the default): the
# lease (2 x budget + 10 + that timeout) must outlive the open request.
RUN = {"MAX_ASSETS_PER_MANIFEST": 20, "HUB_REQUESTS_PER_MINUTE": 6000, "HUB_SETTLE_SECONDS": 2,
       "FLUSH_BUDGET_SECONDS": 5, "HUB_TIMEOUT_SECONDS": 60}
LEASE_S = 2 * 5 + 10 + 60


def test_an_import_still_in_flight_when_its_lease_runs_out_is_not_sent_twice(stack, the_hub):
    # GIVEN a flush whose import the Hub holds open (no answer; the client gives up after 60 s)
    # and stores 40 s after it came
    prefix = f"rt-lease-{uuid.uuid4().hex[:6]}/"
    publish(stack, refs(prefix, 20))
    the_hub.faults(slow_commit=1.0, slow_commit_as="timeout", slow_commit_hang_s=65.0, slow_commit_delay_s=40.0)
    the_hub.reset_stats()  # the "slow commit" counter below counts this test's import only
    env = {**os.environ, **stack, "LOG_LEVEL": "WARNING", **{k: str(v) for k, v in RUN.items()}}
    started = time.monotonic()
    slow = subprocess.Popen([sys.executable, "-m", "hub_import", "flush"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while the_hub.stats()["requests"].get("slow commit", {}).get("scheduled", 0) < 1:
            assert time.monotonic() - started < 20, "the import never reached the Hub"
            time.sleep(0.2)
        came = time.monotonic()  # the Hub stores the import 40 s after this (later under load: up to 70 s)
        the_hub.faults(slow_commit=0.0)
        # WHEN the scheduler goes on flushing every few seconds while that import is still open,
        # and until it has landed
        summaries = []
        while time.monotonic() - came < 43 or (sum(held(stack, prefix).values()) < 20 and time.monotonic() - came < 70):
            summaries.append(run_flush(stack, **RUN))
            time.sleep(2)
        # THEN each file is in the Hub once, when the first import has landed too
        counts = held(stack, prefix)
        assert sum(counts.values()) >= 20 and max(counts.values()) == 1, json.dumps({
            "in_flight_still": slow.poll() is None, "doubled": sum(n - 1 for n in counts.values()),
            "resent": sum(s["sent"] - s["found_in_hub"] for s in summaries),
            "duplicates_removed": sum(s["duplicates_removed"] for s in summaries)})
    finally:
        if slow.poll() is None:
            os.killpg(slow.pid, signal.SIGKILL)
        slow.wait()
