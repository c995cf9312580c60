"""The Hub client against the stand-in, through real sockets: every asset in exactly once,
whatever the Hub does, at the Hub's pace, and the API key never shown."""
from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub_import.assets import build_asset
from hub_import.hub import (HubAuthError, HubClient, HubNotFoundError, HubOutcomeUnknownError,
                            HubRejectedError, HubUnavailableError)
from hub_import.logs import JsonFormatter
from hub_import.objects import ObjectRef
from tests.conftest import BATCH, PROJECT, STORAGE


def assets(n: int, prefix: str = "img"):
    return [build_asset(ObjectRef("landing", f"{prefix}/{i:05d} ü+#.jpg", 1), storage=STORAGE) for i in range(n)]


def client(hub, **kwargs) -> HubClient:
    kwargs.setdefault("requests_per_minute", 0)
    kwargs.setdefault("backoff_base", 0.01)
    kwargs.setdefault("backoff_cap", 0.2)
    return HubClient(hub.url, hub.api_key, **kwargs)


def import_all(c: HubClient, items, size: int = 20, budget: float = 120):
    deadline = time.monotonic() + budget
    results = [c.import_assets(PROJECT, items[i:i + size], deadline=deadline) for i in range(0, len(items), size)]
    return results


def assert_exactly_once(hub, items):
    hub.faults(error_rate=0.0, rate_429=0.0, latency_ms=0, outage=False, drop_after_commit=0.0)
    held = Counter(a["externalId"] for a in hub.all_assets(PROJECT))
    wanted = Counter(a.external_id for a in items)
    assert held == wanted, {"missing": wanted - held, "duplicated": held - wanted}


def test_a_clean_import_lands_each_asset_once_in_one_call(hub):
    items = assets(50)
    result = client(hub).import_assets(PROJECT, items)
    assert result.sent == items and result.found == [] and result.calls == 1
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
    results = import_all(client(hub), items)
    assert_exactly_once(hub, items)
    assert sorted(a.external_id for r in results for a in r.sent + r.found) == sorted(a.external_id for a in items)


@pytest.mark.slow
def test_commit_then_drop_at_30_percent_over_2000_assets_still_exactly_once(hub_factory):
    hub = hub_factory({"drop_after_commit": 0.3})
    items = assets(2000)
    results = import_all(client(hub), items, size=25, budget=600)
    assert_exactly_once(hub, items)
    dropped = hub.stats()["requests"]["dropped after commit"]["-"]
    found = sum(len(r.found) for r in results)
    assert dropped >= 10, "the fault must actually have fired"
    assert found >= 25 * 0.5 * dropped, "assets stored before a drop were found, not re-sent"


def test_a_timeout_after_commit_is_settled_by_asking_the_hub_not_by_resending(hub_factory):
    hub = hub_factory({"drop_after_commit": 1.0, "drop_hang_s": 1.5})
    items = assets(30)
    c = client(hub, read_timeout=0.5)
    with ThreadPoolExecutor(1) as pool:  # switch the fault off while the client is waiting
        later = pool.submit(lambda: (time.sleep(0.3), hub.faults(drop_after_commit=0.0)))
        result = c.import_assets(PROJECT, items, deadline=time.monotonic() + 30)
        later.result()
    assert result.found == items and result.sent == []
    assert_exactly_once(hub, items)


def test_an_outage_is_waited_out_within_the_deadline(hub_factory):
    hub = hub_factory({"outage": True})
    items = assets(10)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: (time.sleep(1.0), hub.faults(outage=False)))
        result = client(hub).import_assets(PROJECT, items, deadline=time.monotonic() + 30)
    assert result.sent == items
    assert_exactly_once(hub, items)


def test_an_outage_past_the_deadline_raises_and_sends_nothing(hub_factory):
    hub = hub_factory({"outage": True})
    with pytest.raises(HubUnavailableError) as raised:
        client(hub).import_assets(PROJECT, assets(5), deadline=time.monotonic() + 1)
    assert "503" in str(raised.value)
    hub.faults(outage=False)
    assert hub.all_assets(PROJECT) == []


def test_a_lost_answer_past_the_deadline_says_which_assets_are_undecided_and_reconcile_settles_them(hub_factory):
    # GIVEN a Hub that stores the import, then holds the connection past the caller's deadline
    hub = hub_factory({"drop_after_commit": 1.0, "drop_hang_s": 1.0})
    items = assets(8)
    c = client(hub)
    with pytest.raises(HubOutcomeUnknownError) as raised:
        c.import_assets(PROJECT, items, deadline=time.monotonic() + 0.5)
    undecided = raised.value
    assert undecided.assets == items and undecided.sent_at <= time.time()
    hub.faults(drop_after_commit=0.0)
    present, missing = c.reconcile(PROJECT, undecided.assets, since=undecided.sent_at)
    assert present == items and missing == []
    assert_exactly_once(hub, items)


def test_reconcile_does_not_count_older_assets_with_the_same_external_id(hub):
    c = client(hub)
    old = assets(3)
    c.import_assets(PROJECT, old)
    time.sleep(0.1)
    later = time.time() + 5  # the Hub's clock margin is 2 s: these are clearly older
    present, missing = c.reconcile(PROJECT, old, since=later)
    assert present == [] and missing == old


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
    paced = client(hub, requests_per_minute=100 * 60 / 3)
    # WHEN four threads burst 150 calls at it
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: paced.storages(), range(150)))
    # THEN the Hub answered every call at once, and never 429
    assert hub.stats()["requests"]["GET /v2/storages"] == {"200": 150}


def test_an_unpaced_burst_does_draw_429s_which_the_client_rides_out(hub_factory):
    hub = hub_factory({"rate_limit_per_minute": 100, "rate_limit_window_s": 3})
    unpaced = client(hub, requests_per_minute=0)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: unpaced.storages(deadline=time.monotonic() + 30), range(150)))
    statuses = hub.stats()["requests"]["GET /v2/storages"]
    assert statuses["200"] == 150 and statuses.get("429", 0) > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(min_size=1, max_size=120), min_size=1, max_size=20, unique=True))
def test_the_hub_accepts_the_url_of_any_object_name(hub, names):
    items = [build_asset(ObjectRef("landing", name, 1), storage=STORAGE) for name in names]
    result = client(hub).import_assets(PROJECT, items, deadline=time.monotonic() + 30)
    assert result.sent == items
