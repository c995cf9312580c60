"""Red team: reconciles that say "absent" of assets the Hub holds (duplicates), or "found" of
assets it does not hold (losses)."""
from __future__ import annotations

import math
import time
import uuid

import pytest
import requests

from hub_import.core.assets import object_url
from hub_import.hub.client import LIST_LIMIT
from tests.integration.flushing import (LISTING, answered, assert_once, commit_held, flush_until_healed, flush_until_idle, held, publish,
                                        refs, run_flush)
from tests.integration.redteam import HELD, add_others, delete_others, stack, the_hub  # noqa: F401, F811 - fixtures

FAST = {"MAX_ASSETS_PER_MANIFEST": 20, "HUB_REQUESTS_PER_MINUTE": 6000, "HUB_SETTLE_SECONDS": 2}


def lost_import(stack, h, prefix: str, n: int = 20, **flush):
    """Queue `n` files and flush once against a Hub whose import answers 504 and stores them
    right after (held, then committed by the test): one pending manifest whose outcome is unknown,
    its assets in the Hub. Returns the messages."""
    messages = publish(stack, refs(prefix, n))
    h.faults(slow_commit=1.0, slow_commit_delay_s=HELD)
    first = run_flush(stack, **{**FAST, **flush})
    h.faults(slow_commit=0.0)
    assert first["uncertain"] == n, first
    commit_held(h)
    assert sum(held(stack, prefix).values()) == n, "the lost import must have landed"
    return messages


@pytest.mark.parametrize("page_cap", [pytest.param(100, marks=pytest.mark.soak), 50], ids=["control-cap-100", "cap-50"])
def test_a_listing_whose_pages_hold_fewer_than_100_rows_is_reconciled_right(stack, the_hub, page_cap):
    # GIVEN a Hub whose asset listing caps `limit` at 50 rows (the `list_max_limit` switch) and
    # lists oldest first whatever `sort` says (`list_order: oldest_first`), in a project that
    # already holds other people's assets
    the_hub.faults(list_max_limit=page_cap, list_order="oldest_first")
    add_others(stack, the_hub, f"others-{uuid.uuid4().hex[:6]}/", 300, batch=30)
    # AND an import of 20 files whose answer was lost, though the Hub stored them
    prefix = f"rt-pagecap-{uuid.uuid4().hex[:6]}/"
    messages = lost_import(stack, the_hub, prefix)
    # WHEN later flushes settle it (after the settle time), and heal gets its chance too
    time.sleep(2)
    listed = answered(the_hub.stats(), LISTING)
    flush_until_idle(stack, expect=messages, **FAST)
    # (the attack: the reconcile really read the capped, oldest-first listing; counted at the stand-in)
    assert answered(the_hub.stats(), LISTING) > listed, "no listing call: the reconcile never met the cap"
    flush_until_healed(stack, **FAST)  # every heal check a resend left, come due and carried out
    # THEN each file is in the Hub once. (Reconcile pages with LIST_LIMIT = 100 rows: on the
    # oldest-first listing it reads "page (T-1)//100 + 1", which with 50-row pages is the middle
    # of the listing, older than the lost import, and concludes every asset absent; heal's scan
    # does the same, so the copies stay.)
    assert_once(stack, messages)


@pytest.mark.parametrize("deleted", [pytest.param(0, marks=pytest.mark.soak), 200], ids=["control-none-deleted", "200-deleted"])
def test_an_unordered_full_read_over_two_flushes_survives_a_person_deleting_assets(stack, the_hub, deleted):
    # GIVEN a Hub whose listing rows carry no createdAt and whose externalId filter is ignored
    # (so a reconcile reads the whole listing, page by page, resuming at its saved page)
    the_hub.faults(list_created_at=False, external_id_filter="ignored")
    prefix = f"rt-shift-{uuid.uuid4().hex[:6]}/"
    messages = lost_import(stack, the_hub, prefix)
    # AND 500 assets that others import after the lost import (newest first, they come before it)
    others = f"others-{uuid.uuid4().hex[:6]}/"
    add_others(stack, the_hub, others, 500, batch=100)
    time.sleep(2)  # the settle time
    # WHEN a flush with the default pace (100 calls a minute: 5 reconcile calls per flush of 5 s)
    # reads the first pages of the listing and saves its page cursor
    before = the_hub.stats()
    part = run_flush(stack, MAX_ASSETS_PER_MANIFEST=20, HUB_SETTLE_SECONDS=2)
    after = the_hub.stats()
    # (counted at the stand-in, not from the flush's summary: the listing calls this flush made,
    # at least 4 pages, and fewer than the whole listing needs, the 20 files' one manifest of
    # MAX_ASSETS_PER_MANIFEST=20 against every live row of the project, LIST_LIMIT=100 a page:
    # the read really stopped part-way, with a cursor the deletion below can shift)
    pages = math.ceil(after["assets"][stack["HUB_PROJECT_ID"]] / LIST_LIMIT)
    listed = answered(after, LISTING) - answered(before, LISTING)
    assert 4 <= listed < pages and part["reconciled_manifests"] == 0, {"listed": listed, "pages": pages, **part}
    # AND a person deletes 200 of the newest assets (rows on the pages already read)
    if deleted:
        assert delete_others(stack, others, newest=deleted) == deleted
    # AND the next flushes finish the reconcile
    flush_until_idle(stack, expect=messages, **FAST)
    # THEN each file is in the Hub once (the rows of the lost import moved up onto a page the
    # cursor had passed, were never read, and were sent again)
    assert_once(stack, messages)


def test_an_asset_of_another_file_with_the_same_external_id_does_not_settle_ours(stack, the_hub):
    # GIVEN the project already holds an asset with the externalId our file will have, but another
    # file: a second deployment on another bucket with the default EXTERNAL_ID_TEMPLATE "{name}"
    # (test_operations' backfills make exactly such pairs), or a person's upload
    prefix = f"rt-sameid-{uuid.uuid4().hex[:6]}/"
    [message] = publish(stack, refs(prefix, 1))
    answer = requests.post(f"{stack['HUB_API_URL']}/v2/project/{stack['HUB_PROJECT_ID']}/cloud",
                           json={"assets": [{"externalId": message.ref.name,
                                             "data": "https://storage.googleapis.com/other-bucket/x.jpg"}]},
                           headers={"apikey": stack["HUB_API_KEY"]}, timeout=30)
    assert answer.status_code == 201
    the_hub.others.append(message.ref.name)
    # WHEN our import is answered 200 {"status": "fail"} (nothing stored: an unknown outcome)
    the_hub.faults(short_created=1.0, short_created_as="status_fail")
    first = run_flush(stack, **FAST)
    the_hub.faults(short_created=0.0)
    assert first["uncertain"] == 1, first
    assert the_hub.stats()["requests"].get("short created", {}).get("status fail", 0) >= 1, "the fault never fired"
    time.sleep(2.5)
    # AND later flushes settle it
    summaries = flush_until_idle(stack, **FAST)
    # THEN our file (its data URL) is in the Hub: the reconcile matched the other file's asset by
    # externalId alone, counted ours "found", marked the manifest sent and acked the message
    ours = [a for a in the_hub.all_assets(stack["HUB_PROJECT_ID"]) if a["data"] == object_url(message.ref)]
    assert len(ours) == 1, {"ours_in_hub": len(ours), "found_in_hub": sum(s["found_in_hub"] for s in summaries)}
