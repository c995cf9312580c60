"""Helpers for the red-team tests: other people's assets in the Hub project, and a Hub reset."""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.integration.flushing import hub

# Every switch the red-team tests touch, at the value the test stack starts with.
RESET = {"error_rate": 0.0, "rate_429": 0.0, "slow_commit": 0.0, "slow_commit_as": "504", "slow_commit_delay_s": 4.0,
         "slow_commit_hang_s": 65.0, "list_order": "honoured", "list_created_at": True, "list_max_limit": 100,
         "external_id_filter": "exact", "max_body_bytes": 0, "retry_after": True, "short_created": 0.0,
         "short_created_as": "fewer", "odd_status": 0.0, "odd_status_code": 409, "truncate_body": 0.0,
         "rate_limit_per_minute": 0, "rate_limit_window_s": 60.0, "redirect_to": "", "geofenced": False,
         "outage": False, "latency_ms": 0, "drop_after_commit": 0.0, "drop_hang_s": 0.0}


@pytest.fixture
def stack(stack):
    """The stack, with manifests and a ledger (and so a flush lease) of this test's own: what a
    killed or stalled flush leaves behind here never holds up another test."""
    own = f"redteam-{uuid.uuid4().hex[:8]}"
    return {**stack, "MANIFEST_PREFIX": f"{own}/manifests/", "LEDGER_PREFIX": f"{own}/ledger/"}


@pytest.fixture
def the_hub(stack):
    """The Hub stand-in, reset before and after; other people's assets added by the test removed after."""
    h = hub(stack)
    h.faults(**RESET)
    h.others = []  # externalId prefixes of assets added with add_others
    yield h
    h.faults(**RESET)
    for prefix in h.others:
        delete_others(stack, prefix)


def add_others(stack, h, prefix: str, n: int, batch: int = 50) -> None:
    """`n` assets that somebody else (a person, another uploader) imports into the project now,
    in imports of `batch` (so that the listing shows several createdAt values)."""
    h.others.append(prefix)
    url = f"{stack['HUB_API_URL']}/v2/project/{stack['HUB_PROJECT_ID']}/cloud"
    for start in range(0, n, batch):
        assets = [{"externalId": f"{prefix}{i:05d}", "data": f"https://storage.googleapis.com/elsewhere/{prefix}{i:05d}.jpg"}
                  for i in range(start, min(n, start + batch))]
        answer = requests.post(url, json={"assets": assets, "uploadLocal": "false", "priority": 0},
                               headers={"apikey": stack["HUB_API_KEY"]}, timeout=60)
        assert answer.status_code == 201, answer.text
        time.sleep(0.005)  # distinct createdAt per import


def delete_others(stack, prefix: str, newest: int | None = None) -> int:
    """Soft-delete the live assets whose externalId starts with `prefix` (only the `newest` n of
    them when given), as a person cleaning up the project does; returns how many."""
    rows = [a for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if a["externalId"].startswith(prefix)]
    if newest is not None:
        rows = rows[-newest:]
    ids = [r["_id"] for r in rows]
    for start in range(0, len(ids), 500):
        answer = requests.delete(f"{stack['HUB_API_URL']}/v2/project/{stack['HUB_PROJECT_ID']}/assets",
                                 json={"project": stack["HUB_PROJECT_ID"], "assets": ids[start:start + 500]},
                                 headers={"apikey": stack["HUB_API_KEY"]}, timeout=60)
        assert answer.status_code == 200, answer.text
    return len(ids)
