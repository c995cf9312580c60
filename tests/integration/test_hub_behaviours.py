"""Exactly once against every Hub the public material allows: for each stand-in switch (the
behaviours hub-api.md leaves open, and the answers a real Hub or its proxies can give), files
go through the whole stack with 500s at 20% and slow commits (an import that answers 504, or
drops the connection, and is stored a second later) at 30%, and the stand-in's own listing is
the judge: every file once, none missing, and the Hub calls within the bound the README states.

`HUB_SWITCH_FILES` sets the files per switch: 200 in `make test`, 1,000 in `make soak`.
"""
from __future__ import annotations

import math
import os
import uuid

import pytest

from tests.integration.flushing import assert_once, flush_until_idle, hub, publish, refs

FILES = int(os.environ.get("HUB_SWITCH_FILES", "200"))
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
            "truncate_body": 0.0, "rate_limit_per_minute": 0}


def call_bound(n_files: int) -> int:
    """The README's bound: per manifest of M, one import, plus per unknown outcome one settling
    read and one resend; with 413 splits, 413 halving; with a substring or ignored filter,
    a whole read of the listing (T / 100 pages) per settled manifest."""
    manifests = math.ceil(n_files / PER_MANIFEST)
    listing_pages = math.ceil(2 * n_files / 100) + 1
    return manifests * (8 + 2 * listing_pages)


@pytest.fixture
def switched(stack):
    h = hub(stack)
    h.faults(**DEFAULTS)
    yield h
    h.faults(**DEFAULTS)


@pytest.mark.parametrize("switch", list(SWITCHES), ids=list(SWITCHES))
def test_every_file_is_in_the_hub_once_under_each_switch(stack, switched, switch, record_property):
    # GIVEN a Hub that behaves as the switch says, with 500s and slow commits besides
    messages = publish(stack, refs(f"sw-{switch}-{uuid.uuid4().hex[:6]}/", FILES))
    switched.reset_stats()
    switched.faults(**BASE, **SWITCHES[switch])
    # WHEN the scheduler flushes until all is settled
    summaries = flush_until_idle(stack, expect=messages, max_runs=120, **FLUSH)
    switched.faults(**DEFAULTS)
    # THEN every file is in the Hub exactly once, within the Hub-call bound
    assert_once(stack, messages)
    calls = sum(s["hub_calls"] for s in summaries)
    stats = switched.stats()
    record_property("hub_calls", calls)
    print(f"\n{switch}: {FILES} files, {calls} Hub calls, {len(summaries)} flushes, "
          f"slow commits {stats['requests'].get('slow commit', {})}, "
          f"reconcile calls {sum(s['reconcile_calls'] for s in summaries)}")
    assert calls <= call_bound(FILES), calls
