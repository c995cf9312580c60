"""Exactly once against every Hub the public material allows: for each stand-in switch (the
behaviours hub-api.md leaves open, and the answers a real Hub or its proxies can give), files
go through the whole stack with 500s at 20% and slow commits (an import that answers 504, or
drops the connection, and is stored a second later) at 30%, and the stand-in's own listing is
the judge: every file once, none missing. Under every listing switch, some of the files are then
deleted from the bucket (ON_DELETE=delete) and exactly their assets leave the Hub.

The names contain each other (`P/a/7.jpg`, `P/a/7.jpg.jpg`, `P/b/P/a/7.jpg`), so that a filter
that matches substrings really does match other assets of ours. The Hub calls are counted at the
stand-in (never read from the flush's own summary) and bounded by the files, the manifest size,
the faults the stand-in counts having injected, and the flushes the test ran; and each switch's
fault is asserted to have happened, from the stand-in's counters.

`HUB_SWITCH_FILES` sets the files per switch: 100 in `make test`, 1,000 in `make soak`.
"""
from __future__ import annotations

import http.server
import json
import math
import os
import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from hub_import.core.clients import publisher_client
from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from tests.integration.flushing import (assert_once, flush_until_idle, held, hub, hub_calls, own_state, publish, refs,
                                        run_flush, settings, wait_for_slow_commits)

FILES = int(os.environ.get("HUB_SWITCH_FILES", "100"))
PER_MANIFEST = 20
BASE = {"error_rate": 0.2, "slow_commit": 0.3, "slow_commit_delay_s": 1.0}
FLUSH = {"MAX_ASSETS_PER_MANIFEST": PER_MANIFEST, "FLUSH_BUDGET_SECONDS": 20, "HUB_REQUESTS_PER_MINUTE": 6000,
         "HUB_SETTLE_SECONDS": 2}
IMPORT = "POST /v2/project/<project_id>/cloud"
LIST = "GET /v2/project/<project_id>/assets"
DELETE = "DELETE /v2/project/<project_id>/assets"


def answered(stats: dict, route: str, status: str | None = None) -> int:
    """How many calls of `route` the stand-in answered (with `status`, when given)."""
    row = stats["requests"].get(route, {})
    return row.get(status, 0) if status else sum(n for s, n in row.items() if s.isdigit())


def row(stats: dict, name: str, column: str = "-") -> int:
    """A fault row of the stand-in's stats: how often it injected that fault."""
    return stats["requests"].get(name, {}).get(column, 0)


# Each switch, and the stand-in's own evidence that the Hub behaved that way during the run.
# BASE's faults are checked for every switch (the 500s and the slow commits happened).
LISTING = "listing"  # the switch changes the listing: listing calls were made under it (and the deletions ran)
SWITCHES = {
    "as-guessed": ({}, LISTING),
    "listing-oldest-first": ({"list_order": "oldest_first"}, LISTING),
    "listing-newest-first-always": ({"list_order": "newest_first"}, LISTING),
    "listing-without-createdAt": ({"list_created_at": False}, LISTING),
    "externalId-filter-substring": ({"external_id_filter": "substring"}, LISTING),
    "externalId-filter-ignored": ({"external_id_filter": "ignored", "list_created_at": False}, LISTING),
    "slow-commit-as-reset": ({"slow_commit_as": "reset"}, lambda s: row(s, "slow commit", "scheduled")),
    "max-body-413": ({"max_body_bytes": 3000}, lambda s: answered(s, IMPORT, "413")),
    "429-without-retry-after": ({"rate_429": 0.3, "retry_after": False},
                                lambda s: sum(answered(s, r, "429") for r in s["requests"])),
    "fewer-created-than-sent": ({"short_created": 0.3}, lambda s: row(s, "short created", "fewer")),
    "2xx-status-fail": ({"short_created": 0.3, "short_created_as": "status_fail"},
                        lambda s: row(s, "short created", "status fail")),
    "odd-status-409": ({"odd_status": 0.2, "odd_status_code": 409},
                       lambda s: sum(answered(s, r, "409") for r in s["requests"])),
    "odd-status-422": ({"odd_status": 0.2, "odd_status_code": 422},
                       lambda s: sum(answered(s, r, "422") for r in s["requests"])),
    "body-cut-mid-way": ({"truncate_body": 0.3}, lambda s: row(s, "truncated body")),
}
FAULT_ROWS = (("short created", "fewer"), ("short created", "status fail"), ("truncated body", "-"),
              ("dropped after commit", "-"), ("dropped after delete", "-"), ("slow commit", "scheduled"))


ROUNDS = 6  # at most; the faults below miss a round of 100 files in under one case in five


def missing(stats: dict, fired) -> list[str]:
    """The faults the test is about that the stand-in has not injected yet."""
    evidence = {"500s": sum(answered(stats, r, "500") for r in stats["requests"]),
                "slow commits": row(stats, "slow commit", "scheduled")}
    if fired != LISTING:
        evidence["the switch's own"] = fired(stats)
    return [name for name, n in evidence.items() if not n]


def names_that_contain_each_other(project: str, n: int) -> list[ObjectRef]:
    """`n` objects in threes, P/a/i.jpg, P/a/i.jpg.jpg and P/b/P/a/i.jpg: the first's externalId
    (the name) is a substring of the other two's, so a filter that matches substrings finds them."""
    names = [name for i in range(math.ceil(n / 3))
             for name in (f"{project}/a/{i}.jpg", f"{project}/a/{i}.jpg.jpg", f"{project}/b/{project}/a/{i}.jpg")][:n]
    return [ObjectRef(bucket="landing", name=name, generation=1000 + k, size=1000, content_type="image/jpeg")
            for k, name in enumerate(names)]


def kind(name: str) -> str:
    return "nested" if "/b/" in name else "long" if name.endswith(".jpg.jpg") else "short"


OTHERS = 300  # assets somebody else put in the project (names no filter of ours meets)


def add_others(stack, project: str, n: int) -> None:
    """`n` assets of other names in `project`, imported through the API as a person would."""
    assets = [{"externalId": f"{project}/others/{i:04d}", "data": f"https://storage.googleapis.com/elsewhere/{i}.jpg"}
              for i in range(n)]
    answer = requests.post(f"{stack['HUB_API_URL']}/v2/project/{project}/cloud", timeout=60,
                           json={"assets": assets, "uploadLocal": "false", "priority": 0},
                           headers={"apikey": stack["HUB_API_KEY"]})
    assert answer.status_code == 201, answer.text


def to_delete(name: str) -> bool:
    """Which of names_that_contain_each_other's names the test deletes: the short name of even
    groups (its longer relatives stay), the .jpg.jpg one of odd groups (its short relative stays),
    and the nested one of every third group."""
    group = int(name.rsplit("/", 1)[1].split(".")[0])
    if "/b/" in name:
        return group % 3 == 2
    return group % 2 == (1 if name.endswith(".jpg.jpg") else 0)


def failures(stats: dict) -> int:
    """The answers the stand-in gave that were not a plain success: every non-2xx answer of a /v2
    call, and every 2xx one a fault made wrong (fewer stored, status fail, a cut body), every
    dropped connection and every slow commit. Each may cost the flush a retry, a resend or a reconcile."""
    bad = sum(n for route, statuses in stats["requests"].items() if route.split(" ")[-1].startswith("/v2/")
              for status, n in statuses.items() if status.isdigit() and not status.startswith("2"))
    return bad + sum(row(stats, name, column) for name, column in FAULT_ROWS)


def call_bound(n_files: int, per_manifest: int, failed: int, flushes: int, deleted: int = 0) -> int:
    """The bound docs/once.md states (reconcile at a bounded cost), from the files, the manifest size,
    the failures the stand-in injected and the flushes the test ran; nothing the flush reports of
    itself. Imports: one per manifest, and per failure at most two more (a resend, or the two halves of a 413). Settling: each failure at
    most one reconcile and one heal check, each scanning at most 2 T / 100 + 2 pages (a page cap or a
    substring filter makes it page on) in a project of T <= 2 n + OTHERS assets (a copy healed away).
    Deletions: per deleted object one lookup (a filtered listing, or under an ignored filter one
    whole listing a flush), and one DELETE per 100. Per flush: the call that asks whether the Hub
    answers, and the project's batches."""
    scan = 2 * math.ceil((2 * n_files + OTHERS) / 100) + 2
    imports = math.ceil(n_files / per_manifest) + 2 * failed
    settling = 2 * failed * scan
    deletions = deleted + math.ceil(deleted / 100) + flushes * scan
    return imports + settling + deletions + 2 * flushes


def counted(runs: list, flush=run_flush):
    """A flush that counts, in `runs`, the flushes the test ran."""
    def run(stack, **extra):
        runs.append(1)
        return flush(stack, **extra)
    return run


def left_behind(stack, extra, summaries: list[dict]) -> str:
    """What a deletion step that did not finish left: the names still held, their ledger records,
    and the flushes' counts (for the next time it happens under load)."""
    from hub_import.core.clients import storage_client
    from hub_import.state.ledger import Ledger
    from hub_import.state.store import JsonStore

    ledger = Ledger(JsonStore(storage_client().bucket(stack["STATE_BUCKET"])), stack["LEDGER_PREFIX"], False)
    records = {}
    for name in sorted(extra)[:5]:
        doc = ledger.read(ObjectRef(stack["LANDING_BUCKET"], name, 0))
        records[name] = doc.body if doc else None
    counts = {k: sum(s[k] for s in summaries) for k, v in summaries[0].items() if type(v) is int}
    return json.dumps({"still held": dict(extra), "records": records, "flushes": len(summaries), "counts": counts,
                       "last": {k: v for k, v in summaries[-1].items() if k != "manifests"}}, default=str)[:4000]


def publish_deletions(stack, objects: list[ObjectRef]) -> None:
    """Queue deletion messages for `objects` as the ingest function does for ON_DELETE=delete."""
    s = settings(stack)
    futures = [publisher_client().publish(s.topic_path, *DeletionMessage(ref, "deleted", "event").encode()[:1],
                                          **DeletionMessage(ref, "deleted", "event").encode()[1]) for ref in objects]
    for f in futures:
        f.result(timeout=30)


def listing(h, stack, project: str, external_id: str) -> list[dict]:
    """The Hub's listing through its API, as the flush sees it, filtered on `external_id` (asked
    again past the 500s the test has on)."""
    for _ in range(50):
        answer = requests.get(f"{stack['HUB_API_URL']}/v2/project/{project}/assets",
                              params={"limit": 100, "filters": json.dumps({"externalId": external_id})},
                              headers={"apikey": stack["HUB_API_KEY"]}, timeout=30)
        if answer.status_code != 500:
            break
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["assets"]


@pytest.fixture
def switched(stack):
    """The stand-in; conftest's every_switch_reset puts every switch back before and after."""
    return hub(stack)


@pytest.mark.parametrize("switch", list(SWITCHES), ids=list(SWITCHES))
def test_every_file_is_in_the_hub_once_under_each_switch(stack, switched, switch, record_property):
    changes, fired = SWITCHES[switch]
    # GIVEN a project of its own (so that its size, and a reconcile's cost, is this test's), in a
    # Hub that behaves as the switch says, with 500s and slow commits besides, and names of which
    # some are substrings of others
    project = f"sw-{switch}-{uuid.uuid4().hex[:6]}"
    switched.add_project(project)
    # State of its own too: a manifest another test left pending must not hold this one up.
    mine = {**own_state(stack, switch, queue=True), "HUB_PROJECT_ID": project}
    add_others(mine, project, OTHERS)  # so that a lookup of a few names asks per externalId, with the filter
    switched.reset_stats()
    switched.faults(**BASE, **changes)
    # WHEN the scheduler flushes until all is settled; and, while a fault the test is about has not
    # happened yet (a fraction of a few import calls: it can miss a whole round), again with a round
    # of new files: a test whose fault never fired would prove nothing
    objects, messages, runs = [], [], []
    for round_ in range(ROUNDS):
        new = names_that_contain_each_other(f"{project}/r{round_}", FILES)
        objects += new
        messages += publish(mine, new)
        flush_until_idle(mine, flush=lambda: counted(runs)(mine, **FLUSH), expect=messages, max_runs=120)
        wait_for_slow_commits(switched)  # a late copy would land during the deletions, and blur their count
        stats = switched.stats()
        if not missing(stats, fired):
            break
    # THEN the faults really happened (counted by the stand-in): 500s, slow commits, the switch's own
    assert not missing(stats, fired), (switch, missing(stats, fired), json.dumps(stats["requests"]))
    # AND every file is in the Hub exactly once, within the Hub-call bound, counted at the stand-in
    assert_once(mine, messages)
    calls = hub_calls(stats)
    record_property("hub_calls", calls)
    print(f"\n{switch}: {len(objects)} files, {calls} Hub calls (stand-in), {len(runs)} flushes, "
          f"failures injected {failures(stats)}, slow commits {stats['requests'].get('slow commit', {})}")
    assert calls <= call_bound(len(objects), PER_MANIFEST, failures(stats), len(runs)), (calls, stats["requests"])
    if fired != LISTING:
        return
    # Listing switches: the names did meet the filter as the switch says (a probe of the Hub as set) ...
    probe = [a["externalId"] for a in listing(switched, mine, project, f"{project}/r0/a/0.jpg")]
    expected = {"exact": 1, "substring": 3, "ignored": min(len(objects) + OTHERS, 100)}[changes.get("external_id_filter", "exact")]
    assert len(probe) == expected, probe
    assert all(("createdAt" in a) == changes.get("list_created_at", True)
               for a in listing(switched, mine, project, f"{project}/r0/a/0.jpg"))

    # WHEN a third of the files, among them names that are substrings of others (and the other way
    # round), are deleted from the bucket, under the same switch and faults
    gone = [ref for ref in objects if to_delete(ref.name)]
    kinds = Counter(kind(r.name) for r in gone)
    assert set(kinds) == {"short", "long", "nested"}, kinds
    # First one name of each kind alone (three names in a project of over 300 assets: the flush asks
    # for each by externalId, so the filter as switched is what it reads), then the rest together.
    first = [next(r for r in gone if kind(r.name) == k) for k in ("short", "long", "nested")]
    for step in (first, [r for r in gone if r not in first]):
        before = {a["_id"]: a["externalId"] for a in switched.all_assets(project)}
        deleted_before = switched.stats()["deleted"].get(project, 0)
        switched.reset_stats()
        publish_deletions(mine, step)
        runs.clear()
        step_names = {r.name for r in step}
        wanted = Counter(e for e in before.values() if e.startswith(f"{project}/r") and e not in step_names)
        deadline = time.monotonic() + 240
        summaries = []
        while True:
            summary = counted(runs)(mine, **FLUSH)
            summaries.append(summary)
            now = held(mine, f"{project}/r")
            assert not wanted - now, {"deleted but not asked to": sorted(wanted - now)[:5]}
            if now == wanted and summary["queue_empty"] and summary["pulled"] == 0:
                break
            assert time.monotonic() < deadline, left_behind(mine, now - wanted, summaries)
            time.sleep(0.5)
        stats = switched.stats()
        # THEN exactly the deleted names' assets left the Hub: the same ids stay for every other name
        # (those the deleted ones are substrings of, and those substrings of them), each once, and the
        # Hub soft-deleted as many assets as names were deleted
        after = {a["_id"]: a["externalId"] for a in switched.all_assets(project)}
        assert after == {i: e for i, e in before.items() if e not in step_names}
        assert stats["deleted"].get(project, 0) - deleted_before == len(step), stats["deleted"]
        assert answered(stats, DELETE) > 0 and answered(stats, LIST) > 0, stats["requests"]
        bound = call_bound(len(objects), PER_MANIFEST, failures(stats), len(runs), deleted=len(step))
        assert hub_calls(stats) <= bound, (hub_calls(stats), bound, stats["requests"])


def test_a_commit_later_than_the_settle_time_is_healed_to_one_copy(stack, switched):
    # GIVEN a Hub whose lost imports land 4 s later, and a settle time of only 1 s: the reconcile
    # finds them absent, the flush sends them again, then the late commit lands as a second copy.
    # A project of its own, so that what the Hub deleted there is this test's doing alone.
    prefix = f"heal-{uuid.uuid4().hex[:6]}/"
    project = prefix.rstrip("/")
    switched.add_project(project)
    stack = {**own_state(stack, "heal", queue=True), "HUB_PROJECT_ID": project}
    messages = publish(stack, refs(prefix, 40))
    switched.faults(slow_commit=1.0, slow_commit_delay_s=4.0)
    late = {**FLUSH, "HUB_SETTLE_SECONDS": 1}
    flush_until_idle(stack, expect=messages, max_runs=40, **late)
    switched.faults(slow_commit=0.0)
    assert wait_for_slow_commits(switched).get("stored", 0) > 0  # the late commits landed
    # WHEN later flushes run (the verification is due a few settle times after the resend; on a
    # slow machine it may already have come during the flushes above)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and max(held(stack, prefix).values()) > 1:
        run_flush(stack, **late)
        time.sleep(1)
    # THEN each file is in the Hub once, and the late commits really had doubled some assets: the
    # Hub holds more than 40 assets, live or deleted (a test whose fault never fired proves nothing).
    # Each file is live once, so what was deleted was the extra copies and nothing else.
    assert_once(stack, messages)
    assert switched.stats()["deleted"].get(project, 0) > 0, "the late commits must really have doubled some assets"


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
        switched.reset_stats()
        switched.faults(redirect_to=f"http://127.0.0.2:{server.server_port}")
        summary = run_flush(stack, **FLUSH)
    finally:
        switched.faults(redirect_to="")
        server.shutdown()
    assert "redirect" in summary["hub_unavailable"] and summary["pulled"] == 0
    assert sum(n for r in switched.stats()["requests"].values() for s, n in r.items() if s == "307") > 0, \
        "the stand-in answered the redirect"
    assert seen == [], "nothing, and so no key, reached the other host"
    flush_until_idle(stack, expect=messages, **FLUSH)  # and once the Hub answers again, they go in once
    assert_once(stack, messages)


def test_a_geofenced_organization_stops_the_flush_before_it_pulls(stack, switched):
    messages = publish(stack, refs(f"geo-{uuid.uuid4().hex[:6]}/", 5))
    switched.reset_stats()
    switched.faults(geofenced=True)
    try:
        summary = run_flush(stack, **FLUSH)
    finally:
        switched.faults(geofenced=False)
    assert "451" in summary["hub_unavailable"] and summary["pulled"] == 0
    assert sum(n for r in switched.stats()["requests"].values() for s, n in r.items() if s == "451") > 0, \
        "the stand-in answered 451"
    flush_until_idle(stack, expect=messages, **FLUSH)  # and once the Hub answers again, they go in once
    assert_once(stack, messages)
