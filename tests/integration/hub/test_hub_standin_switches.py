"""Each switch of the Hub stand-in does what its table says, in both (or every) setting.

The client's tests build on these switches; here they are proven against plain `requests`."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import urllib3

from deploy.local.hub_standin import FAULT_DEFAULTS
from tests.conftest import PROJECT, STORAGE

GOOD = "https://storage.googleapis.com/landing/a.jpg"
ROOT = Path(__file__).resolve().parents[3]


def assets(*external_ids: str) -> list[dict]:
    return [{"data": GOOD, "externalId": e} for e in external_ids]


def post(hub, batch: list[dict], timeout: float = 10) -> requests.Response:
    return requests.post(f"{hub.url}/v2/project/{PROJECT}/cloud", headers={"apikey": hub.api_key},
                         json={"assets": batch, "uploadLocal": "false", "priority": 0}, timeout=timeout)


def rows(hub, **params) -> list[dict]:
    if "filters" in params:
        params["filters"] = json.dumps(params["filters"])
    answer = requests.get(f"{hub.url}/v2/project/{PROJECT}/assets", params={"limit": 100, **params},
                          headers={"apikey": hub.api_key}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["assets"]


def names(listed: list[dict]) -> list[str]:
    return [a["externalId"] for a in listed]


def held(hub) -> list[str]:
    """What the Hub holds, oldest first, read past every switch."""
    return names(requests.get(f"{hub.url}/_admin/assets", params={"project": PROJECT}, timeout=10).json()["assets"])


def wait_for(predicate, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def three(hub):
    """A Hub holding a1, a2, a3, imported in that order."""
    for name in ("a1", "a2", "a3"):
        assert post(hub, assets(name)).status_code == 201
    return hub


# -- behaviours the public material leaves open ------------------------------------------

def test_list_order_honoured_or_always_oldest_or_newest_first(three):
    assert names(rows(three)) == ["a3", "a2", "a1"], "guess: newest first without sort"
    assert names(rows(three, sort="createdAt")) == ["a1", "a2", "a3"]
    assert names(rows(three, sort="-externalId")) == ["a3", "a2", "a1"]
    three.faults(list_order="oldest_first")
    assert names(rows(three, sort="-createdAt")) == ["a1", "a2", "a3"]
    assert names(rows(three, sort="nonsense")) == ["a1", "a2", "a3"], "an ignored sort is not checked either"
    three.faults(list_order="newest_first")
    assert names(rows(three, sort="createdAt")) == ["a3", "a2", "a1"]


def test_list_rows_with_or_without_created_at(three):
    assert all(r["createdAt"] for r in rows(three))
    three.faults(list_created_at=False)
    listed = rows(three)
    assert len(listed) == 3 and not any("createdAt" in r for r in listed)
    assert names(rows(three, sort="createdAt")) == ["a1", "a2", "a3"], "still sorted by the hidden field"


def test_list_rows_with_or_without_data(three):
    assert all(r["data"] == GOOD for r in rows(three))
    three.faults(list_data=False)
    listed = rows(three, filters={"externalId": "a2"})
    assert names(listed) == ["a2"] and not any("data" in r for r in rows(three))


def test_list_lag_hides_new_assets_from_the_listing_until_they_are_that_old(three):
    three.faults(list_lag_s=1.5)
    assert wait_for(lambda: len(rows(three)) == 3, timeout=5)  # a1..a3 once 1.5 s old
    assert post(three, assets("new")).status_code == 201
    # the new asset is in the Hub (the judge's view) but not in the listing: rows, filters, total
    assert "new" in held(three)
    answer = requests.get(f"{three.url}/v2/project/{PROJECT}/assets", params={"limit": 100},
                          headers={"apikey": three.api_key}, timeout=10).json()["data"]
    assert names(answer["assets"]) == ["a3", "a2", "a1"] and answer["total"] == 3
    assert rows(three, filters={"externalId": "new"}) == []
    assert wait_for(lambda: names(rows(three, filters={"externalId": "new"})) == ["new"], timeout=5)
    three.faults(list_lag_s=0)
    assert post(three, assets("now")).status_code == 201
    assert names(rows(three, filters={"externalId": "now"})) == ["now"]


def test_list_max_limit_caps_the_page(hub_factory):
    hub = hub_factory({"list_max_limit": 2})
    assert post(hub, assets("a", "b", "c")).status_code == 201
    answer = requests.get(f"{hub.url}/v2/project/{PROJECT}/assets", params={"limit": 100},
                          headers={"apikey": hub.api_key}, timeout=10).json()["data"]
    assert len(answer["assets"]) == 2 and answer["total"] == 3
    hub.faults(list_max_limit=100)
    assert len(rows(hub)) == 3


def test_external_id_filter_exact_substring_or_ignored(hub):
    assert post(hub, assets("a/7", "a/77", "b/a/7x", "zzz")).status_code == 201
    assert names(rows(hub, filters={"externalId": "a/7"})) == ["a/7"]
    hub.faults(external_id_filter="substring")
    assert sorted(names(rows(hub, filters={"externalId": "a/7"}))) == ["a/7", "a/77", "b/a/7x"]
    hub.faults(external_id_filter="ignored")
    assert len(rows(hub, filters={"externalId": "a/7"})) == 4


def test_storages_default_limit_and_order(hub_factory):
    hub = hub_factory({"storages_default_limit": 3, "storages_order": "oldest_first"})
    requests.post(f"{hub.url}/_admin/storages", json=[{"_id": f"s{i}"} for i in range(1, 5)],
                  timeout=10).raise_for_status()
    get = lambda **p: [s["_id"] for s in requests.get(f"{hub.url}/v2/storages", params=p, headers={
        "apikey": hub.api_key}, timeout=10).json()["data"]["storages"]]
    assert get() == [STORAGE, "s1", "s2"]
    assert get(page=2) == ["s3", "s4"]
    hub.faults(storages_default_limit=0, storages_order="newest_first")
    assert get() == ["s4", "s3", "s2", "s1", STORAGE], "0: every storage in one answer"
    assert get(limit=2) == ["s4", "s3"]


def test_storages_max_limit_caps_a_page_silently_and_the_client_still_finds_every_integration(hub_factory):
    from hub_import.hub import HubClient

    hub = hub_factory({"storages_max_limit": 4})
    requests.post(f"{hub.url}/_admin/storages", json=[{"_id": f"s{i:02d}", "bucket": f"b{i}"} for i in range(10)],
                  timeout=10).raise_for_status()
    page = requests.get(f"{hub.url}/v2/storages", params={"limit": 100}, headers={"apikey": hub.api_key},
                        timeout=10).json()["data"]["storages"]
    assert len(page) == 4, "a larger limit is capped without a word"
    every = HubClient(hub.url, hub.api_key, requests_per_minute=0).storages()
    assert {s["_id"] for s in every} == {STORAGE} | {f"s{i:02d}" for i in range(10)}


def test_retry_after_sent_or_not_on_429(hub_factory):
    hub = hub_factory({"rate_429": 1.0, "retry_after_s": 3})
    answer = requests.get(f"{hub.url}/v2/storages", headers={"apikey": hub.api_key}, timeout=10)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
    hub.faults(retry_after=False, rate_429=0.0, rate_limit_per_minute=1)
    answers = [requests.get(f"{hub.url}/v2/storages", headers={"apikey": hub.api_key}, timeout=10) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    assert "Retry-After" not in answers[1].headers and answers[1].json()["status"] == "fail"


def test_unknown_ids_in_a_soft_delete_ignored_or_refused(hub):
    assert post(hub, assets("x", "y")).status_code == 201
    ids = [a["_id"] for a in rows(hub)]
    delete = lambda batch: requests.delete(f"{hub.url}/v2/project/{PROJECT}/assets", headers={"apikey": hub.api_key},
                                           json={"project": PROJECT, "assets": batch}, timeout=10)
    hub.faults(delete_unknown_ids="400")
    refused = delete([ids[0], "f" * 24])
    assert refused.status_code == 400 and "f" * 24 in refused.json()["message"]
    assert len(held(hub)) == 2, "a refused delete deletes nothing"
    hub.faults(delete_unknown_ids="ignored")
    assert delete([ids[0], "f" * 24]).json()["data"]["deletedCount"] == 1
    assert len(held(hub)) == 1


# -- faults ------------------------------------------------------------------------------

def test_drop_after_delete_deletes_then_closes_the_connection_without_an_answer(hub_factory):
    hub = hub_factory({"drop_after_delete": 1.0})
    assert post(hub, assets("x", "y")).status_code == 201
    ids = [a["_id"] for a in rows(hub)]
    with pytest.raises(requests.ConnectionError):
        requests.delete(f"{hub.url}/v2/project/{PROJECT}/assets", headers={"apikey": hub.api_key},
                        json={"project": PROJECT, "assets": ids[:1]}, timeout=10)
    assert len(held(hub)) == 1, "deleted, though nobody heard so"
    stats = requests.get(f"{hub.url}/_admin/stats", timeout=10).json()
    assert stats["requests"]["dropped after delete"] == {"-": 1}


@pytest.mark.parametrize("how", ["504", "timeout", "reset"])
def test_slow_commit_fails_the_import_then_stores_it_later(hub_factory, how):
    hub = hub_factory({"slow_commit": 1.0, "slow_commit_as": how, "slow_commit_delay_s": 1.0,
                       "slow_commit_hang_s": 2})
    if how == "504":
        answer = post(hub, assets("late"))
        assert answer.status_code == 504 and answer.json() == {"status": "error", "message": "Gateway Timeout"}
    else:
        error = requests.Timeout if how == "timeout" else requests.ConnectionError
        with pytest.raises(error):
            post(hub, assets("late"), timeout=1)
    if how != "timeout":  # a timeout outlasts the delay
        assert held(hub) == [], "not stored before its delay"
    assert wait_for(lambda: held(hub) == ["late"]), "stored later, once"
    assert hub.stats()["requests"]["slow commit"] == {"scheduled": 1, "stored": 1}
    hub.faults(slow_commit=0.0)
    assert post(hub, assets("now")).status_code == 201 and held(hub) == ["late", "now"]
    hub.stop()
    assert names(hub_factory(data_dir=hub.data_dir).all_assets(PROJECT)) == ["late", "now"], "kept on disk"


def test_max_body_bytes_answers_a_proxy_413_in_html(hub_factory):
    big = assets(*[f"file-{i:04d}" for i in range(100)])
    hub = hub_factory({"max_body_bytes": 2000})
    answer = post(hub, big)
    assert answer.status_code == 413 and answer.headers["Content-Type"].startswith("text/html")
    assert answer.text.startswith("<html>") and "<title>413 Request Entity Too Large</title>" in answer.text
    with pytest.raises(ValueError):
        answer.json()
    assert held(hub) == []
    assert post(hub, assets("small")).status_code == 201
    hub.faults(max_body_bytes=0)
    assert post(hub, big).status_code == 201 and len(held(hub)) == 101


@pytest.mark.parametrize("how", ["fewer", "status_fail"])
def test_short_created_stores_fewer_than_sent(hub_factory, how):
    hub = hub_factory({"short_created": 1.0, "short_created_as": how})
    answer = post(hub, assets("s0", "s1", "s2", "s3", "s4"))
    if how == "fewer":
        assert answer.status_code == 201
        assert answer.json() == {"status": "success", "data": {"assets": {"assetsCreated": 2, "tasksCreated": 2}}}
        assert held(hub) == ["s0", "s1"]
    else:
        assert answer.status_code == 200 and answer.json()["status"] == "fail" and answer.json()["message"]
        assert held(hub) == []
    hub.faults(short_created=0.0)
    assert post(hub, assets("t0", "t1")).json()["data"]["assets"]["assetsCreated"] == 2
    assert held(hub)[-2:] == ["t0", "t1"]


@pytest.mark.parametrize("code", [405, 409, 418, 422])
def test_odd_status_answers_before_doing_anything(hub_factory, code):
    hub = hub_factory({"odd_status": 1.0, "odd_status_code": code})
    for answer in (post(hub, assets("odd")),
                   requests.get(f"{hub.url}/v2/storages", headers={"apikey": hub.api_key}, timeout=10)):
        assert answer.status_code == code and answer.json()["status"] == "fail"
    assert held(hub) == []
    hub.faults(odd_status=0.0)
    assert post(hub, assets("even")).status_code == 201


def test_truncate_body_stores_then_cuts_the_answer_short(hub):
    hub.faults(truncate_body=1.0)
    with requests.post(f"{hub.url}/v2/project/{PROJECT}/cloud", headers={"apikey": hub.api_key}, stream=True,
                       json={"assets": assets("cut")}, timeout=10) as answer:
        assert answer.status_code == 201
        promised = int(answer.headers["Content-Length"])
        with pytest.raises(urllib3.exceptions.ProtocolError, match=rf"IncompleteRead\({promised // 2} bytes read"):
            answer.raw.read(decode_content=False)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        post(hub, assets("cut2"))
    assert held(hub) == ["cut", "cut2"], "stored before the answer broke"
    assert hub.stats()["requests"]["truncated body"] == {"-": 2}
    hub.faults(truncate_body=0.0)
    assert post(hub, assets("whole")).json()["status"] == "success"


@pytest.fixture
def recorder():
    """A tiny HTTP server on another loopback port that records every request it gets."""
    seen: list[dict] = []

    class Record(BaseHTTPRequestHandler):
        def answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                         "body": self.rfile.read(length)})
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = do_DELETE = answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.seen = seen
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def test_redirect_to_answers_307_to_another_host_and_does_nothing(hub, recorder):
    hub.faults(redirect_to=recorder.url + "/")
    answer = requests.post(f"{hub.url}/v2/project/{PROJECT}/cloud?batches=%5B%5D", headers={"apikey": hub.api_key},
                           json={"assets": assets("moved")}, timeout=10, allow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["Location"] == f"{recorder.url}/v2/project/{PROJECT}/cloud?batches=%5B%5D"
    assert held(hub) == []
    followed = requests.get(f"{hub.url}/v2/storages?_id=x", timeout=10)  # a client that follows it
    assert followed.status_code == 200 and recorder.seen[-1]["path"] == "/v2/storages?_id=x"
    hub.faults(redirect_to="")
    assert post(hub, assets("here")).status_code == 201 and held(hub) == ["here"]


def test_geofenced_answers_451_to_every_call(hub):
    hub.faults(geofenced=True)
    for answer in (post(hub, assets("fenced")),
                   requests.get(f"{hub.url}/v2/storages", headers={"apikey": hub.api_key}, timeout=10)):
        assert answer.status_code == 451
        assert answer.json() == {"status": "fail",
                                 "message": "Unavailable For Legal Reasons: organization is geofenced"}
    assert requests.get(f"{hub.url}/v2/storages", headers={"apikey": "wrong"}, timeout=10).status_code == 401
    assert held(hub) == []
    hub.faults(geofenced=False)
    assert post(hub, assets("free")).status_code == 201


# -- setting switches ---------------------------------------------------------------------

def test_every_switch_is_settable_and_bad_values_change_nothing(hub):
    assert requests.get(f"{hub.url}/_admin/faults", timeout=10).json().keys() == FAULT_DEFAULTS.keys()
    for bad in ({"list_order": "sideways"}, {"slow_commit": 1.5}, {"geofenced": "yes"}, {"odd_status_code": 200},
                {"max_body_bytes": -1}, {"redirect_to": "ftp://x"}, {"list_max_limit": 0}, {"nope": 1},
                {"error_rate": 0.5, "list_created_at": "no"}, {"list_lag_s": -1}, {"list_lag_s": "5"},
                {"list_data": "no"}):
        answer = requests.post(f"{hub.url}/_admin/faults", json=bad, timeout=10)
        assert answer.status_code == 400, bad
    assert requests.get(f"{hub.url}/_admin/faults", timeout=10).json()["error_rate"] == 0.0, "all or nothing"
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "local" / "hub_standin.py"), "--api-key", "k",
                           "--data-dir", str(hub.data_dir / "unused"), "--faults", '{"list_order": "x"}'],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "list_order" in done.stderr


def test_the_judges_view_lists_every_live_asset_past_every_switch(hub):
    assert post(hub, assets("j1", "j2")).status_code == 201
    hub.faults(odd_status=1.0, list_created_at=False, list_order="newest_first", geofenced=True)
    listed = requests.get(f"{hub.url}/_admin/assets", params={"project": PROJECT}, timeout=10).json()["assets"]
    assert names(listed) == ["j1", "j2"] and all(a["createdAt"] for a in listed)


def test_commit_held_stores_every_held_slow_commit_now_and_each_once(hub_factory):
    # GIVEN two imports whose answers were lost and which the Hub would store only in a minute
    hub = hub_factory({"slow_commit": 1.0, "slow_commit_delay_s": 1.5})
    assert post(hub, assets("first")).status_code == 504
    assert post(hub, assets("second")).status_code == 504
    assert held(hub) == [] and hub.stats()["requests"]["slow commit"] == {"scheduled": 2}
    # WHEN a test says they land now
    assert hub.commit_held() == 2
    # THEN both are stored at once, in the order they were made, and counted stored
    assert held(hub) == ["first", "second"]
    assert hub.stats()["requests"]["slow commit"] == {"scheduled": 2, "stored": 2}
    # AND their timers, when they fall due, store nothing more; nothing is left to commit
    assert wait_for(lambda: hub.stats()["requests"]["slow commit"].get("timer after commit-held") == 2)
    assert held(hub) == ["first", "second"] and hub.commit_held() == 0
    assert hub.stats()["requests"]["slow commit"] == {"scheduled": 2, "stored": 2, "timer after commit-held": 2}


def test_latency_is_counted_for_each_call_it_delays(hub_factory):
    hub = hub_factory({"latency_ms": 50})
    for _ in range(3):
        assert post(hub, assets(f"slow-{_}")).status_code == 201
    assert hub.stats()["requests"]["latency added"] == {"-": 3}
    hub.faults(latency_ms=0)
    assert post(hub, assets("fast")).status_code == 201
    assert hub.stats()["requests"]["latency added"] == {"-": 3}, "no latency, nothing counted"
