"""Helpers for the red-team tests: other people's assets in the Hub project, and a Hub reset."""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.integration.flushing import every_switch_at_start, hub

# A slow commit's delay long enough that it lands only when the test says (flushing.commit_held),
# whatever the machine's pace: never before a step the test needs it absent for.
HELD = 600.0


@pytest.fixture
def stack(stack):
    """The stack, with manifests and a ledger (and so a flush lease) of this test's own: what a
    killed or stalled flush leaves behind here never holds up another test."""
    own = f"redteam-{uuid.uuid4().hex[:8]}"
    return {**stack, "MANIFEST_PREFIX": f"{own}/manifests/", "LEDGER_PREFIX": f"{own}/ledger/"}


@pytest.fixture
def the_hub(stack):
    """The Hub stand-in, every switch reset before and after (conftest's every_switch_reset does it
    too); other people's assets added by the test removed after."""
    h = hub(stack)
    every_switch_at_start(stack)
    h.others = []  # externalId prefixes of assets added with add_others
    yield h
    every_switch_at_start(stack)
    h.commit_held()  # a held import (slow_commit_delay_s = HELD) of a test that stopped early lands now
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
