"""The Hub client against the stand-in, through real sockets: every asset in exactly once,
whatever the Hub does, at the Hub's pace, and the API key never shown."""
from __future__ import annotations

import logging
import math
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub_import.core.assets import build_asset
from hub_import.core.hub_quirks import CLOCK_MARGIN_S
from hub_import.core.logs import JsonFormatter
from hub_import.core.objects import ObjectRef
from hub_import.hub.reconcile import _created
from hub_import.hub import (HubAuthError, HubClient, HubNotFoundError, HubOutcomeUnknownError, HubRejectedError,
                            HubUnavailableError, Progress)
from tests.conftest import BATCH, PROJECT, STORAGE


def assets(n: int, prefix: str = "img"):
    return [build_asset(ObjectRef("landing", f"{prefix}/{i:05d} ü+#.jpg", 1), storage=STORAGE) for i in range(n)]


def client(hub, **kwargs) -> HubClient:
    kwargs.setdefault("requests_per_minute", 0)
    kwargs.setdefault("backoff_base", 0.01)
    kwargs.setdefault("backoff_cap", 0.2)
    return HubClient(hub.url, hub.api_key, **kwargs)


def import_all(c: HubClient, items, size: int = 20, budget: float = 120, settle: float = 0.0):
    """Import `items` in chunks as the flush does: an unknown outcome is settled (after `settle`
    seconds) by a reconcile, and only what the Hub does not hold is sent again."""
    deadline = time.monotonic() + budget
    todo = [items[i:i + size] for i in range(0, len(items), size)]
    sent, found = [], []
    while todo:
        chunk = todo.pop()
        try:
            sent += c.import_assets(PROJECT, chunk, deadline=deadline).sent
        except HubOutcomeUnknownError as exc:
            time.sleep(settle)
            progress = Progress()
            assert c.reconcile(PROJECT, {a.external_id for a in chunk}, since=exc.sent_at - 1, progress=progress,
                               max_calls=10_000, deadline=deadline)
            found += [a for a in chunk if a.external_id in progress.found]
            rest = [a for a in chunk if a.external_id in progress.absent]
            if rest:
                todo.append(rest)
    return sent, found


def assert_exactly_once(hub, items):
    hub.faults(error_rate=0.0, rate_429=0.0, latency_ms=0, outage=False, drop_after_commit=0.0)
    held = Counter(a["externalId"] for a in hub.all_assets(PROJECT))
    wanted = Counter(a.external_id for a in items)
    assert held == wanted, {"missing": wanted - held, "duplicated": held - wanted}


def test_a_clean_import_lands_each_asset_once_in_one_call(hub):
    items = assets(50)
    result = client(hub).import_assets(PROJECT, items)
    assert result.sent == items and result.calls == 1
    assert_exactly_once(hub, items)
    stored = {a["externalId"]: a for a in hub.all_assets(PROJECT)}
    assert stored[items[0].external_id]["data"] == items[0].data


@pytest.mark.parametrize("faults", [
    {"error_rate": 0.3},
    {"rate_429": 0.5, "retry_after_s": 0},
    {"latency_ms": 150},
    {"drop_after_commit": 0.3},
], ids=["500s", "429s", "latency", "commit-then-drop"])
def test_with_each_fault_every_asset_lands_exactly_once(hub_factory, faults):
    hub = hub_factory(faults)
    items = assets(200)
    sent, found = import_all(client(hub), items)
    assert_exactly_once(hub, items)
    assert sorted(a.external_id for a in sent + found) == sorted(a.external_id for a in items)


@pytest.mark.soak
def test_commit_then_drop_at_30_percent_over_2000_assets_still_exactly_once(hub_factory):
    hub = hub_factory({"drop_after_commit": 0.3})
    items = assets(2000)
    _, found = import_all(client(hub), items, size=25, budget=600)
    assert_exactly_once(hub, items)
    dropped = hub.stats()["requests"]["dropped after commit"]["-"]
    found = len(found)
    assert dropped >= 10, "the fault must actually have fired"
    assert found >= 25 * 0.5 * dropped, "assets stored before a drop were found, not re-sent"


def test_a_timeout_after_commit_raises_at_once_and_a_reconcile_finds_what_the_hub_stored(hub_factory):
    hub = hub_factory({"drop_after_commit": 1.0, "drop_hang_s": 1.5})
    items = assets(30)
    c = client(hub, read_timeout=0.5)
    with pytest.raises(HubOutcomeUnknownError) as raised:
        c.import_assets(PROJECT, items, deadline=time.monotonic() + 30)
    assert raised.value.assets == items
    # (the stand-in counts the call when its held connection closes: polled for, under a deadline)
    until = time.monotonic() + 10
    while "POST /v2/project/<project_id>/cloud" not in hub.stats()["requests"] and time.monotonic() < until:
        time.sleep(0.05)
    stats = hub.stats()["requests"]
    assert stats["dropped after commit"] == {"-": 1}, "the fault fired, once"
    assert stats["POST /v2/project/<project_id>/cloud"] == {"201": 1}, "never re-sent"
    progress = Progress()
    assert c.reconcile(PROJECT, {a.external_id for a in items}, since=raised.value.sent_at, progress=progress,
                       max_calls=10)
    assert progress.found == {a.external_id for a in items} and progress.absent == set()
    assert_exactly_once(hub, items)


def test_a_read_waits_out_an_outage_within_the_deadline(hub_factory):
    hub = hub_factory({"outage": True})
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: (time.sleep(1.0), hub.faults(outage=False)))
        assert client(hub).storage(STORAGE, deadline=time.monotonic() + 30)["_id"] == STORAGE


def test_an_import_into_an_outage_is_an_unknown_outcome_at_once_never_a_resend(hub_factory):
    # A 5xx may come from a gateway after the Hub stored the request: it is settled, not retried.
    hub = hub_factory({"outage": True})
    with pytest.raises(HubOutcomeUnknownError) as raised:
        client(hub).import_assets(PROJECT, assets(5), deadline=time.monotonic() + 30)
    assert "503" in str(raised.value)
    assert hub.stats()["requests"]["POST /v2/project/<project_id>/cloud"] == {"503": 1}


def test_429s_are_retried_until_the_deadline_then_nothing_is_stored(hub_factory):
    hub = hub_factory({"rate_429": 1.0, "retry_after_s": 0})
    with pytest.raises(HubUnavailableError) as raised:
        client(hub).import_assets(PROJECT, assets(5), deadline=time.monotonic() + 1)
    assert not isinstance(raised.value, HubOutcomeUnknownError) and "429" in str(raised.value)
    hub.faults(rate_429=0.0)
    assert hub.all_assets(PROJECT) == []


def test_reconcile_says_absent_for_what_the_hub_does_not_hold(hub):
    c = client(hub)
    stored, lost = assets(3, "stored"), assets(3, "lost")
    since = time.time()
    c.import_assets(PROJECT, stored)
    progress = Progress()
    assert c.reconcile(PROJECT, {a.external_id for a in stored + lost}, since=since, progress=progress, max_calls=10)
    assert progress.found == {a.external_id for a in stored} and progress.absent == {a.external_id for a in lost}


def test_a_400_names_the_bad_assets_and_nothing_is_retried(hub):
    items = assets(5)
    bad = [items[0], items[1].__class__(external_id="bad", data="https://x/a b"), items[2]]
    c = client(hub)
    with pytest.raises(HubRejectedError) as raised:
        c.import_assets(PROJECT, bad)
    assert raised.value.indexes == [1] and raised.value.assets == bad
    assert "assets[1].data" in raised.value.message
    assert hub.stats()["requests"]["POST /v2/project/<project_id>/cloud"] == {"400": 1}
    assert hub.all_assets(PROJECT) == []


def test_auth_and_not_found_fail_fast_with_typed_errors(hub):
    with pytest.raises(HubAuthError) as raised:
        HubClient(hub.url, "wrong-key", requests_per_minute=0).storages()
    assert raised.value.status == 401
    with pytest.raises(HubNotFoundError):
        client(hub).import_assets("no-such-project", assets(1))
    assert sum(hub.stats()["requests"]["POST /v2/project/<project_id>/cloud"].values()) == 1


def test_the_api_key_never_appears_in_errors_or_logs(hub_factory, caplog):
    hub = hub_factory({"error_rate": 1.0})
    caplog.set_level(logging.DEBUG)
    c = client(hub)
    texts = [repr(c)]
    for call in (lambda: c.import_assets(PROJECT, assets(2), deadline=time.monotonic() + 0.5),
                 lambda: HubClient(hub.url, hub.api_key + "x", requests_per_minute=0).storages()):
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - collecting every text an error can show
            texts += [str(exc), repr(exc)]
    texts += [JsonFormatter().format(r) for r in caplog.records]
    assert len(texts) > 4
    assert all(hub.api_key not in t for t in texts)


def test_batch_names_resolve_to_ids_once_and_missing_ones_are_created_on_request(hub):
    c = client(hub)
    [known] = c.batch_ids(PROJECT, [BATCH])
    assert c.batch_ids(PROJECT, [BATCH]) == (known,)
    assert hub.stats()["requests"]["GET /v2/project/<project_id>"] == {"200": 1}, "cached"
    with pytest.raises(HubNotFoundError, match="'fresh'"):
        c.batch_ids(PROJECT, ["fresh"])
    [fresh] = c.batch_ids(PROJECT, ["fresh"], create=True)
    assert fresh != known
    names = {b["name"]: b["_id"] for b in c.project(PROJECT)["batches"]}
    assert names == {BATCH: known, "fresh": fresh}


def test_a_paced_client_never_draws_a_429_from_a_burst(hub_factory):
    # GIVEN a Hub that allows 100 calls per 3-second window (the 100-a-minute limit, 20x faster)
    hub = hub_factory({"rate_limit_per_minute": 100, "rate_limit_window_s": 3})
    # The client is told 95 a window, not 100: time runs 20x faster here, and so does the jitter of a
    # busy machine's threads against the window (a 60 ms delay is 2% of 3 s, but 0.1% of a minute).
    paced = client(hub, requests_per_minute=95 * 60 / 3)
    # WHEN four threads burst 150 calls at it
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: paced.ping(), range(150)))  # one GET /v2/storages each
    # THEN the Hub answered every call at once, and never 429
    assert hub.stats()["requests"]["GET /v2/storages"] == {"200": 150}


def test_an_unpaced_burst_does_draw_429s_which_the_client_rides_out(hub_factory):
    hub = hub_factory({"rate_limit_per_minute": 100, "rate_limit_window_s": 3})
    unpaced = client(hub, requests_per_minute=0)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: unpaced.ping(deadline=time.monotonic() + 30), range(150)))
    statuses = hub.stats()["requests"]["GET /v2/storages"]
    assert statuses["200"] == 150 and statuses.get("429", 0) > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(min_size=1, max_size=120), min_size=1, max_size=20, unique=True))
def test_the_hub_accepts_the_url_of_any_object_name(hub, names):
    items = [build_asset(ObjectRef("landing", name, 1), storage=STORAGE) for name in names]
    result = client(hub).import_assets(PROJECT, items, deadline=time.monotonic() + 30)
    assert result.sent == items


RECONCILE_CASES = {
    "as-guessed": {},
    "oldest-first": {"list_order": "oldest_first"},
    "no-createdAt": {"list_created_at": False},
    "substring-filter": {"external_id_filter": "substring"},
    "ignored-filter-no-createdAt": {"external_id_filter": "ignored", "list_created_at": False},
}


@pytest.mark.parametrize("case", list(RECONCILE_CASES), ids=list(RECONCILE_CASES))
def test_a_reconcile_is_exact_and_within_its_stated_cost_under_each_listing_behaviour(hub_factory, case):
    # GIVEN a project of T = 2,000 older assets, then a lost import of N = 200 of which half were
    # stored, and R = 300 newer assets created since by others
    hub = hub_factory({"rate_limit_per_minute": 0})
    c = client(hub)
    older, lost, newer = assets(2000, "old"), assets(200, "lost"), assets(300, "new")
    for i in range(0, 2000, 500):
        c.import_assets(PROJECT, older[i:i + 500])
    # the older assets are older than the reconcile's clock margin, by the createdAt the Hub gave
    # them (polled, under a deadline), not by a sleep that assumes when they were stored
    newest_old = max(_created(a) for a in hub.all_assets(PROJECT))
    deadline = time.monotonic() + CLOCK_MARGIN_S + 30
    while time.time() <= newest_old + CLOCK_MARGIN_S + 0.2:
        assert time.monotonic() < deadline, "the Hub's createdAt runs ahead of this clock"
        time.sleep(0.05)
    since = time.time()
    c.import_assets(PROJECT, lost[:100])
    c.import_assets(PROJECT, newer)
    hub.faults(**RECONCILE_CASES[case])
    # WHEN a fresh client (nothing learned) settles the lost import
    fresh = client(hub)
    progress = Progress()
    done = fresh.reconcile(PROJECT, {a.external_id for a in lost}, since=since, progress=progress, max_calls=10_000)
    # THEN it knows exactly which are in the Hub, at no more than docs/once.md's cost
    assert done and progress.found == {a.external_id for a in lost[:100]}
    assert progress.absent == {a.external_id for a in lost[100:]}
    total, n, recent = 2400, 200, 400
    order_proven = "createdAt" not in case and RECONCILE_CASES[case].get("list_created_at", True)
    bound = (math.ceil(recent / 100) + 2) if order_proven else min(math.ceil(total / 100), n) + 1
    print(f"\nreconcile {case}: N={n} T={total} R={recent}: {progress.calls} calls (bound {bound})")
    assert progress.calls <= bound


def test_a_reconcile_too_large_for_one_flush_goes_on_where_it_stopped(hub_factory):
    hub = hub_factory({"list_created_at": False, "external_id_filter": "ignored"})
    c = client(hub)
    items = assets(1000, "big")
    for i in range(0, 1000, 500):
        c.import_assets(PROJECT, items[i:i + 500])
    progress, runs, wanted = Progress(), 0, {a.external_id for a in items[:50]}
    while not c.reconcile(PROJECT, wanted, since=None, progress=progress, max_calls=3):
        runs += 1
        progress = Progress.from_json(progress.to_json())  # saved with the manifest between flushes
        assert runs < 10
    assert runs >= 2 and progress.found == wanted and progress.calls <= 10 + runs


def test_a_soft_delete_is_sent_once_and_a_lost_answer_is_an_unknown_outcome_not_a_resend(hub_factory):
    hub = hub_factory({"drop_after_delete": 1.0})
    c = client(hub)
    c.import_assets(PROJECT, assets(3, "gone"))
    ids = [a["_id"] for a in hub.all_assets(PROJECT)]
    hub.reset_stats()
    with pytest.raises(HubOutcomeUnknownError) as lost:
        c.soft_delete(PROJECT, ids[:2], deadline=time.monotonic() + 30)
    assert lost.value.assets == ids[:2]
    # (the stand-in counts the call once its dropped connection is closed: a moment after the client gave up)
    until = time.monotonic() + 10
    while "DELETE /v2/project/<project_id>/assets" not in hub.stats()["requests"] and time.monotonic() < until:
        time.sleep(0.1)
    requests = hub.stats()["requests"]
    assert requests["DELETE /v2/project/<project_id>/assets"] == {"200": 1}  # sent once, not retried
    assert requests["dropped after delete"] == {"-": 1}
    assert len(hub.all_assets(PROJECT)) == 1  # done, though nobody heard so
    hub.faults(drop_after_delete=0.0, delete_unknown_ids="400")
    with pytest.raises(HubRejectedError):  # what a blind resend would meet under that guess
        c.soft_delete(PROJECT, ids[:2], deadline=time.monotonic() + 30)
    c.soft_delete(PROJECT, ids[2:], deadline=time.monotonic() + 30)
    assert hub.all_assets(PROJECT) == []
