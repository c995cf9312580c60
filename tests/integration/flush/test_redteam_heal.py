"""Red team: the self-healing of late copies (heal.py) that never completes, or is never scheduled."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.integration.flushing import (IMPORT, answered, assert_once, commit_held, flush_until_healed, flush_until_idle, held, publish,
                                        refs, run_flush)
from tests.integration.redteam import HELD, add_others, stack, the_hub  # noqa: F401, F811 - fixtures

LATE = {"MAX_ASSETS_PER_MANIFEST": 20, "FLUSH_BUDGET_SECONDS": 20, "HUB_REQUESTS_PER_MINUTE": 6000,
        "HUB_SETTLE_SECONDS": 1}


def test_a_late_copy_is_healed_in_a_project_where_others_keep_importing(stack, the_hub):
    # GIVEN a lost import that lands late, after the settle time (1 s): the reconcile found it
    # absent, the flush sent it again, and the late commit left a second copy (as in
    # test_hub_behaviours' heal test). The stand-in holds the import until the resends are in
    # (POST /_admin/commit-held), so that it lands after them whatever the machine's pace: with a
    # fixed delay, a slow flush reconciled after it had landed, resent nothing, and the test went
    # on without a copy to heal.
    prefix = f"rt-heal-busy-{uuid.uuid4().hex[:6]}/"
    messages = publish(stack, refs(prefix, 40))
    the_hub.faults(slow_commit=1.0, slow_commit_delay_s=HELD)
    first = run_flush(stack, **LATE)
    the_hub.faults(slow_commit=0.0)
    assert first["uncertain"] == 40, first
    resent, deadline = [], time.monotonic() + 60
    while sum(held(stack, prefix).values()) < 40:  # until the reconciles found them absent and resent them
        assert time.monotonic() < deadline, ("never resent", resent[-2:])
        resent.append(run_flush(stack, **LATE))
    # (at once: before the heal check the resend left, due HEAL_AFTER_SETTLES settle times later)
    commit_held(the_hub, at_least=2)  # the two manifests' lost imports land now, after their resends
    assert min(held(stack, prefix).values()) == 2, "the late commits must really have doubled every asset"
    # AND meanwhile 700 more assets arrived in the project (a backfill, other uploaders: this
    # product alone imports up to 500 assets per call, 100 calls a minute)
    add_others(stack, the_hub, f"others-{uuid.uuid4().hex[:6]}/", 700, batch=50)
    # WHEN the scheduler keeps flushing at the default pace (100 calls a minute, so 25% of a
    # 5-second flush is 5 Hub calls for settling; in production 25% of 240 s is 100 calls)
    busy = {**LATE, "FLUSH_BUDGET_SECONDS": 5, "HUB_REQUESTS_PER_MINUTE": 100}
    summaries, deadline = [], time.monotonic() + 90
    while time.monotonic() < deadline and max(held(stack, prefix).values()) > 1:
        summaries.append(run_flush(stack, **busy))
    after = held(stack, prefix)
    # (a flush with a larger share of calls heals them at once: only the share was missing)
    larger = run_flush(stack, **LATE)
    # THEN the extra copies are gone. (heal.run_due asks `copies` with the share left and a fresh
    # Progress each time: a scan of more rows than the share reads never completes, starts over
    # at every flush, spends every flush's whole share, and blocks every verification after it.)
    assert max(after.values()) == 1, json.dumps({
        "doubled_after_flushes": sum(n - 1 for n in after.values()), "flushes": len(summaries),
        "reconcile_calls_each": [s["reconcile_calls"] for s in summaries],
        "duplicates_removed": sum(s["duplicates_removed"] for s in summaries),
        "removed_by_one_flush_with_a_larger_share": larger["duplicates_removed"]})
    assert_once(stack, messages)


@pytest.mark.parametrize("limited", [pytest.param(False, marks=pytest.mark.soak), True], ids=["control-resend-goes-through", "resend-meets-429"])
def test_a_late_copy_is_healed_when_the_resend_after_the_reconcile_waited_for_the_rate_limit(stack, the_hub, limited):
    # GIVEN a project whose newest rows are older than the import below, by more than the margins
    # (so a reconcile reads one page)
    add_others(stack, the_hub, f"others-{uuid.uuid4().hex[:6]}/", 120, batch=30)
    time.sleep(4)
    # AND an import whose answer was lost and which lands later, when the test says (held until
    # the second flush below has reconciled and resent: after the settle time of 1 s)
    prefix = f"rt-heal-429-{uuid.uuid4().hex[:6]}/"
    messages = publish(stack, refs(prefix, 20))
    the_hub.faults(slow_commit=1.0, slow_commit_delay_s=HELD)
    first = run_flush(stack, **LATE)
    the_hub.faults(slow_commit=0.0)
    assert first["uncertain"] == 20, first
    time.sleep(1.5)
    # WHEN the next flush reconciles (absent: not landed yet) and its resend meets the Hub's rate
    # limit (the key's window spent, by this flush's reads or by a second deployment on the key),
    # so the resend stores nothing and the manifest is left pending as "unsent"
    the_hub.faults(rate_limit_per_minute=2 if limited else 0, rate_limit_window_s=60.0)
    before = the_hub.stats()
    second = run_flush(stack, **{**LATE, "FLUSH_BUDGET_SECONDS": 5})
    after = the_hub.stats()
    the_hub.faults(rate_limit_per_minute=0)
    assert second["reconciled_manifests"] == 1 and second["sent"] == (0 if limited else 20), json.dumps(second)
    # (the attack, counted at the stand-in: the resend met 429s, stored nothing; in the control it went through)
    refused = answered(after, status="429") - answered(before, status="429")
    resent = answered(after, IMPORT, "201") - answered(before, IMPORT, "201")
    assert (refused >= 1 and resent == 0) if limited else (refused == 0 and resent >= 1), (refused, resent)
    # AND the lost import lands (it was still held: the reconcile above found it absent), and the
    # scheduler goes on flushing past the heal check's time
    commit_held(the_hub)
    summaries = flush_until_idle(stack, expect=messages, **LATE)
    summaries += flush_until_healed(stack, **LATE)  # every heal check left, come due and carried out
    # THEN each file is in the Hub once. (The "unsent" manifest loses its uncertain_since, so the
    # next flush sends it with neither a reconcile nor a heal check scheduled: the late copy and
    # the resend both stay.)
    assert_once(stack, messages)
