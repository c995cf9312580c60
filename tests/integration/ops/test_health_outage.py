"""A Hub outage as a user sees it on the local stack (issue 20): `status` leads with the outage, since
when and for how many flushes, and says how many files wait as far as it can know (the emulator
reports no backlog: unknown, never 0); `trace` of a waiting file says it is queued because the Hub
does not answer, not "not seen"; once the Hub is back, `status` says healthy."""
from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.integration.flushing import hub, own_state, publish, refs, run_flush
from tests.integration.ops.test_operations import cli, in_the_bucket


@pytest.mark.timeout(600)
def test_status_and_trace_tell_a_hub_outage_and_its_end(stack):
    # GIVEN files queued (one of them in the landing bucket too), state and a queue of the test's own
    run = uuid.uuid4().hex[:8]
    mine = own_state(stack, "outage", queue=True)
    objects = refs(f"outage-{run}/", 20)
    in_the_bucket(stack, objects[:1])
    publish(mine, objects)
    # WHEN the Hub answers every call with 503, and the scheduler flushes twice
    the_hub = hub(stack)
    the_hub.faults(outage=True)
    try:
        summaries = [run_flush(mine) for _ in range(2)]
        assert all(s["pulled"] == 0 and s["hub_unavailable"] for s in summaries), summaries
        # THEN status's first line names the outage, and says the backlog is unknown here, not 0
        told = cli(mine, "status")
        assert told.returncode == 0, told.stderr
        first = told.stdout.splitlines()[0]
        assert re.fullmatch(r"the Hub has not answered since \d\d:\d\dZ \(2 flushes\); how many files wait is "
                            r"unknown \(the Pub/Sub emulator reports no backlog\)", first), told.stdout
        as_json = json.loads(cli(mine, "status", "--json").stdout)
        assert as_json["health"]["state"] == "hub_silent" and as_json["backlog"]["messages"] is None
        assert cli(mine, "status", "--exit-code").returncode == 0  # two flushes: not yet a person's problem
        # AND trace of a waiting file says it is queued, and why
        traced = cli(mine, "trace", objects[0].uri)
        verdict = traced.stdout.splitlines()[-1]
        assert verdict.startswith("verdict: queued; the Hub has not answered since "), traced.stdout + traced.stderr
    finally:
        the_hub.faults(outage=False)
    # WHEN the Hub is back and a flush runs
    done = run_flush(mine)
    assert done["sent"] == len(objects), done
    # THEN status is healthy again
    assert cli(mine, "status").stdout.splitlines()[0] == "healthy"
