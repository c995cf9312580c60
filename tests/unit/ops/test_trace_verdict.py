"""`trace`'s verdict: the one line that says where a file is, chosen from what each part shows."""
from __future__ import annotations

import pytest

from hub_import.ops.trace import parse_uri
from hub_import.ops.trace_report import Trace, render, verdict, when

NOW = 1_800_000_000.0
OBJECT = {"generation": 7, "size": 10, "content_type": "image/jpeg", "created": "2027-01-15T08:00:00+00:00",
          "updated": None}
ROUTE = {"route": {"project": "p", "storage": "s", "batches": ["b"], "priority": 0}, "judged_by": "the object"}


def manifest(state, **extra):
    return {"path": f"manifests/2027/01/15/080000Z-f-001{'-failed' if state == 'failed' else ''}.json",
            "state": state, "label": state, "project": "p", "generation": 7, "external_id": "a.jpg", "assets": 1,
            "attempts": 1, "error": None, "replayed_as": None, "created_at": NOW - 60, "updated_at": NOW - 50,
            "uncertain_since": None, "not_before": 0, "lease_until": 0, "owner": "f", **extra}


def copy(i):
    return {"id": f"asset{i}", "project": "p", "externalId": "a.jpg", "createdAt": "2027-01-15T08:00:01.000Z",
            "data": "https://storage.googleapis.com/b/a.jpg", "ours": True}


def record(state="claimed", sent=False):
    return {"key": "object", "path": "ledger/x.json", "state": state, "manifest": manifest("sent")["path"],
            "flush": "f", "at": NOW - 60, "external_id": "a.jpg", "manifest_sent": sent}


def made(**parts) -> Trace:
    t = Trace("gs://b/a.jpg", **{"object": OBJECT, "rules": ROUTE, "hub": {"copies": [], "asked": [
        {"project": "p", "externalId": "a.jpg", "complete": True}]}, **parts})
    t.outcome, t.verdict = verdict(t, now=NOW)
    return t


@pytest.mark.parametrize("parts,outcome,says", [
    ({"hub": {"copies": [copy(1)], "asked": []}, "manifests": [manifest("sent")], "ledger": [record(sent=True)]},
     "in_hub", "in the Hub once since 2027-01-15 08:00:01 UTC (asset asset1)"),
    ({"hub": {"copies": [copy(1), copy(2)], "asked": []}},
     "duplicated", "in the Hub 2 times: run `hub-import audit --fix`"),
    ({"rules": {"skipped": "empty object", "judged_by": "the object"}}, "skipped", "skipped: empty object"),
    ({"manifests": [manifest("pending", attempts=2, error="Hub unavailable until the deadline")]},
     "pending", "waiting in pending manifest manifests/2027/01/15/080000Z-f-001.json (attempt 2, Hub unavailable"),
    ({"manifests": [manifest("pending", uncertain_since=NOW - 30, not_before=NOW + 90)]},
     "settling", "settling: an import's answer was lost; asked again after 2027-01-15 08:01:30 UTC"),
    ({"manifests": [manifest("failed", error="unknown storage id 's'")]},
     "failed", "failed: unknown storage id 's'; fix it, then `hub-import replay --failed`"),
    ({"dead_letters": [{"reason": "cannot be decoded", "message_id": "1", "generation": "7", "published": ""}]},
     "dead_lettered", "dead-lettered: cannot be decoded"),
    ({"ledger": [record(sent=True)]}, "missing",
     "sent in manifests/2027/01/15/080000Z-f-001.json at 2027-01-15 07:59:00 UTC, but the Hub holds no asset"),
    ({}, "not_seen", "not seen yet: no event or backfill reached the product"),
    ({"rules": {**ROUTE, "sweep_every_minutes": 60}}, "not_seen", "not seen yet: no event or backfill reached the product, "
     "or it still waits in the queue (check the trigger, or run backfill); if its event was lost, the sweep (every 60 "
     "min) queues it"),
    ({"object": None}, "not_seen", "not seen yet: not in the bucket"),
    ({"rules": {**ROUTE, "landing_bucket": "landing"}}, "not_seen",
     "not seen yet: the trigger watches gs://landing only; `hub-import backfill` brings"),
])
def test_each_state_has_its_verdict(parts, outcome, says):
    t = made(**parts)
    assert t.outcome == outcome and t.verdict.startswith(says), t.verdict
    assert render(t).endswith(f"verdict: {t.verdict}")


def test_the_hub_outranks_the_history_and_a_pending_manifest_outranks_the_rules():
    # a manifest pending while the Hub holds its asset already: the Hub's word first
    t = made(hub={"copies": [copy(1)], "asked": []}, manifests=[manifest("pending")])
    assert t.outcome == "in_hub" and "learns it when it settles" in t.verdict
    # a pending manifest is sent, whatever today's rules say of its objects
    t = made(rules={"skipped": "excluded", "judged_by": "the object"}, manifests=[manifest("pending")])
    assert t.outcome == "pending"
    # a replayed failed manifest is history, not the verdict
    t = made(manifests=[manifest("failed", error="x", replayed_as="m2.json")])
    assert t.outcome == "not_seen"


def test_a_pending_manifest_held_by_a_flush_says_by_whom_and_until_when():
    t = made(manifests=[manifest("pending", lease_until=NOW + 20, owner="abc123", attempts=0)])
    assert t.verdict.endswith("(held by flush abc123 until 2027-01-15 08:00:20 UTC; attempt 0)")


def test_without_the_hub_a_sent_file_is_said_sent_not_missing():
    t = made(hub={"error": "not asked: HUB_API_KEY is not set"}, manifests=[manifest("sent")])
    assert t.outcome == "sent" and t.verdict.endswith("(not asked: HUB_API_KEY is not set)")
    assert "  hub          not asked: HUB_API_KEY is not set" in render(t)


def test_a_trace_takes_one_object_uri():
    assert parse_uri("gs://b/d/a b.jpg") == ("b", "d/a b.jpg")
    for bad in ("b/a.jpg", "gs://b", "gs://b/", "gs:///a.jpg"):
        with pytest.raises(ValueError, match="gs://BUCKET/NAME"):
            parse_uri(bad)


def test_times_read_as_utc_whatever_form_they_come_in():
    assert when(NOW) == "2027-01-15 08:00:00 UTC"
    assert when("2027-01-15T09:00:00+01:00") == "2027-01-15 08:00:00 UTC"
    assert when("yesterday") == "yesterday"


def deleted(**extra):
    return {**record("deleted"), "deleted_generation": 7, "asset_ids": ["asset1"], "project": "p", **extra}


def test_a_file_deleted_from_the_bucket_says_when_it_left_the_hub():
    t = made(object=None, manifests=[manifest("sent")], ledger=[deleted()])
    assert t.outcome == "deleted" and t.verdict == ("deleted from the Hub at 2027-01-15 07:59:00 UTC: the file left "
                                                    "the bucket (asset asset1 soft-deleted in project p)")
    assert "per object: deleted (generation 7 left the bucket), assets asset1, flush f" in render(t)
    # deleted before it was imported
    t = made(object=None, ledger=[deleted(asset_ids=[], note="never in the Hub")])
    assert t.outcome == "deleted" and "before it was imported" in t.verdict
    # uploaded again, not flushed yet
    t = made(object={**OBJECT, "generation": 9}, ledger=[deleted()])
    assert t.verdict.endswith("; uploaded again since (generation 9), not imported yet")
    # uploaded again and imported again: the record is claimed anew, and the Hub has the word
    t = made(hub={"copies": [copy(2)], "asked": []}, ledger=[record(sent=True)])
    assert t.outcome == "in_hub"


def storage(bucket="b", ids=()):
    from hub_import.core.bucket_storage import Finding
    return {**Finding(bucket, tuple(ids), NOW - 120).to_json(), "since": NOW - 120}


def test_a_file_queued_while_the_flush_waits_for_its_storage_integration_says_so_and_why():
    t = made(storage=storage())
    assert t.outcome == "waiting"
    assert t.verdict == ("queued: waiting for a Hub storage integration for bucket b: create it in the Hub "
                         "(Organization > Storages); nothing to re-apply; it goes in on its own once the integration "
                         "exists")
    assert "  storage      waiting for a Hub storage integration for bucket b" in render(t)
    t = made(storage=storage(ids=("one", "two")))
    assert t.outcome == "waiting" and t.verdict.startswith("queued: 2 Hub storage integrations read bucket b (one, two)")
    # found: the file is judged as any other; what is in the Hub, or skipped, still wins over waiting
    assert made(storage=storage(ids=("one",))).outcome == "not_seen"
    assert made(storage=storage(), hub={"copies": [copy(1)], "asked": []}).outcome == "in_hub"
    assert made(storage=storage(), rules={"skipped": "excluded", "judged_by": "the object"}).outcome == "skipped"
