"""Exactly once against every Hub the public material allows: for each stand-in switch (the
behaviours hub-api.md leaves open, and the answers a real Hub or its proxies can give), files
go through the whole stack with 500s at 20% and slow commits (an import that answers 504, or
drops the connection, and is stored a second later) at 30%, and the stand-in's own listing is
the judge: every file once, none missing, and the Hub calls within the bound the README states.

`HUB_SWITCH_FILES` sets the files per switch: 100 in `make test`, 1,000 in `make soak`.
"""
from __future__ import annotations

import http.server
import math
import os
import threading
import time
import uuid

import pytest

from tests.integration.flushing import assert_once, flush_until_idle, held, hub, own_state, publish, refs, run_flush

FILES = int(os.environ.get("HUB_SWITCH_FILES", "100"))
PER_MANIFEST = 20
BASE = {"error_rate": 0.2, "slow_commit": 0.3, "slow_commit_delay_s": 1.0}
FLUSH = {"MAX_ASSETS_PER_MANIFEST": PER_MANIFEST, "FLUSH_BUDGET_SECONDS": 20, "HUB_REQUESTS_PER_MINUTE": 6000,
         "HUB_SETTLE_SECONDS": 2}
SWITCHES = {
    "as-guessed": {},
    "listing-oldest-first": {"list_order": "oldest_first"},
    "listing-newest-first-always": {"list_order": "newest_first"},
    "listing-without-createdAt": {"list_created_at": False},
    "externalId-filter-substring": {"external_id_filter": "substring"},
    "externalId-filter-ignored": {"external_id_filter": "ignored", "list_created_at": False},
    "slow-commit-as-reset": {"slow_commit_as": "reset"},
    "max-body-413": {"max_body_bytes": 3000},
    "429-without-retry-after": {"rate_429": 0.3, "retry_after": False},
    "fewer-created-than-sent": {"short_created": 0.3},
    "2xx-status-fail": {"short_created": 0.3, "short_created_as": "status_fail"},
    "odd-status-409": {"odd_status": 0.2, "odd_status_code": 409},
    "odd-status-422": {"odd_status": 0.2, "odd_status_code": 422},
    "body-cut-mid-way": {"truncate_body": 0.3},
}
DEFAULTS = {"error_rate": 0.0, "rate_429": 0.0, "slow_commit": 0.0, "list_order": "honoured", "list_created_at": True,
            "external_id_filter": "exact", "slow_commit_as": "504", "max_body_bytes": 0, "retry_after": True,
            "short_created": 0.0, "short_created_as": "fewer", "odd_status": 0.0, "odd_status_code": 409,
            "truncate_body": 0.0, "rate_limit_per_minute": 0, "slow_commit_delay_s": 1.0, "redirect_to": "",
            "geofenced": False}


def call_bound(n_files: int, summaries: list[dict]) -> int:
    """The README's bound. Imports: per manifest of M, one, with splits and retries at most 8
    (413 halving, 429s). Settling: each reconcile, and each heal check, costs at most
    ceil(T / 100) + 2 calls in a project of T assets, and at most 2 T / 100 + 2 while a page cap or
    a substring filter makes it page on; T is at most twice the files (a copy healed away)."""
    manifests = math.ceil(n_files / PER_MANIFEST)
    settled = sum(s["reconciled_manifests"] for s in summaries) + manifests  # + at most one heal check each
    per_flush = 2  # the first call that asks whether the Hub answers, and the project's batches
    return manifests * 8 + settled * (math.ceil(2 * n_files / 100) + 2) + per_flush * len(summaries)


@pytest.fixture
def switched(stack):
    h = hub(stack)
    h.faults(**DEFAULTS)
    yield h
    h.faults(**DEFAULTS)


@pytest.mark.parametrize("switch", list(SWITCHES), ids=list(SWITCHES))
def test_every_file_is_in_the_hub_once_under_each_switch(stack, switched, switch, record_property):
    # GIVEN a project of its own (so that its size, and a reconcile's cost, is this test's), in a
    # Hub that behaves as the switch says, with 500s and slow commits besides
    project = f"sw-{switch}-{uuid.uuid4().hex[:6]}"
    switched.add_project(project)
    # State of its own too: a manifest another test left pending must not hold this one up.
    mine = {**own_state(stack, switch), "HUB_PROJECT_ID": project}
    messages = publish(mine, refs(f"{project}/", FILES))
    switched.reset_stats()
    switched.faults(**BASE, **SWITCHES[switch])
    # WHEN the scheduler flushes until all is settled
    summaries = flush_until_idle(mine, expect=messages, max_runs=120, **FLUSH)
    switched.faults(**DEFAULTS)
    # THEN every file is in the Hub exactly once, within the Hub-call bound
    assert_once(mine, messages)
    calls = sum(s["hub_calls"] for s in summaries)
    reconciles = sum(s["reconcile_calls"] for s in summaries)
    stats = switched.stats()
    record_property("hub_calls", calls)
    print(f"\n{switch}: {FILES} files, {calls} Hub calls, {len(summaries)} flushes, "
          f"slow commits {stats['requests'].get('slow commit', {})}, reconcile calls {reconciles}")
    assert calls <= call_bound(FILES, summaries), calls


def test_a_commit_later_than_the_settle_time_is_healed_to_one_copy(stack, switched):
    # GIVEN a Hub whose lost imports land 4 s later, and a settle time of only 1 s: the reconcile
    # finds them absent, the flush sends them again, then the late commit lands as a second copy
    prefix = f"heal-{uuid.uuid4().hex[:6]}/"
    stack = own_state(stack, "heal")
    messages = publish(stack, refs(prefix, 40))
    switched.faults(slow_commit=1.0, slow_commit_delay_s=4.0)
    late = {**FLUSH, "HUB_SETTLE_SECONDS": 1}
    first = flush_until_idle(stack, expect=messages, max_runs=40, **late)
    switched.faults(slow_commit=0.0)
    time.sleep(5)  # the late commits land
    assert max(held(stack, prefix).values()) > 1, "the late commits must really have doubled some assets"
    # WHEN later flushes run (the verification is due a few settle times after the resend)
    healed, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline and max(held(stack, prefix).values()) > 1:
        healed.append(run_flush(stack, **late))
        time.sleep(1)
    # THEN the extra copies are gone, and each file is in the Hub once
    assert_once(stack, messages)
    assert sum(s["duplicates_removed"] for s in first + healed) > 0


def test_a_redirect_never_carries_the_key_to_another_host(stack, switched):
    seen: list[dict] = []

    class Sink(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            seen.append(dict(self.headers))
            self.send_response(200)
            self.end_headers()
        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        messages = publish(stack, refs(f"redirect-{uuid.uuid4().hex[:6]}/", 5))
        switched.faults(redirect_to=f"http://127.0.0.2:{server.server_port}")
        summary = run_flush(stack, **FLUSH)
    finally:
        switched.faults(redirect_to="")
        server.shutdown()
    assert "redirect" in summary["hub_unavailable"] and summary["pulled"] == 0
    assert seen == [], "nothing, and so no key, reached the other host"
    flush_until_idle(stack, expect=messages, **FLUSH)  # and once the Hub answers again, they go in once
    assert_once(stack, messages)


def test_a_geofenced_organization_stops_the_flush_before_it_pulls(stack, switched):
    messages = publish(stack, refs(f"geo-{uuid.uuid4().hex[:6]}/", 5))
    switched.faults(geofenced=True)
    try:
        summary = run_flush(stack, **FLUSH)
    finally:
        switched.faults(geofenced=False)
    assert "451" in summary["hub_unavailable"] and summary["pulled"] == 0
    flush_until_idle(stack, expect=messages, **FLUSH)  # and once the Hub answers again, they go in once
    assert_once(stack, messages)
