"""The Hub stand-in behaves like the Hub of hub-api.md: auth, validation, limits, listing, faults."""
from __future__ import annotations

import json

import requests

from tests.conftest import BATCH, PROJECT, STORAGE

GOOD = "https://storage.googleapis.com/landing/a%20b.jpg"


def post(hub, assets, key=None, **params):
    return requests.post(f"{hub.url}/v2/project/{PROJECT}/cloud", params=params, timeout=10,
                         headers={"apikey": key if key is not None else hub.api_key},
                         json={"assets": assets, "uploadLocal": "false", "priority": 0})


def test_every_call_needs_the_api_key(hub):
    for key in ("", "wrong"):
        answer = post(hub, [{"data": GOOD, "externalId": "a"}], key=key)
        assert answer.status_code == 401
        assert answer.json()["status"] == "fail" and answer.json()["message"]
    assert requests.get(f"{hub.url}/v2/storages", timeout=10).status_code == 401


def test_import_validation_names_the_asset_index_and_field(hub):
    cases = [
        ({"externalId": "x"}, "assets[1].data"),
        ({"data": GOOD}, "assets[1].externalId"),
        ({"data": "http://storage.googleapis.com/b/x", "externalId": "x"}, "https"),
        ({"data": "https://storage.googleapis.com/b/a b.jpg", "externalId": "x"}, "raw space"),
        ({"data": "https://storage.googleapis.com/b/a+b.jpg", "externalId": "x"}, "'+'"),
        ({"data": "https://storage.googleapis.com/b/é.jpg", "externalId": "x"}, "non-ASCII"),
        ({"data": GOOD, "externalId": "x", "storage": "nope"}, "assets[1].storage"),
        ({"data": GOOD, "externalId": "x", "batches": ["nope"]}, "assets[1].batches"),
    ]
    for bad, expected in cases:
        answer = post(hub, [{"data": GOOD, "externalId": "ok"}, bad])
        assert answer.status_code == 400, bad
        assert answer.json()["status"] == "fail"
        assert expected in answer.json()["message"], (bad, answer.json())
    assert hub.all_assets(PROJECT) == [], "a rejected request stores nothing"


def test_priority_range_and_maximum_assets_per_request(hub_factory):
    hub = hub_factory({"max_assets_per_request": 3})
    answer = requests.post(f"{hub.url}/v2/project/{PROJECT}/cloud", headers={"apikey": hub.api_key},
                           json={"assets": [{"data": GOOD, "externalId": "a"}], "priority": 1001}, timeout=10)
    assert answer.status_code == 400 and "priority" in answer.json()["message"]
    answer = post(hub, [{"data": GOOD, "externalId": str(i)} for i in range(4)])
    assert answer.status_code == 400 and "maximum of 3" in answer.json()["message"]


def test_an_accepted_import_answers_201_and_is_listed_with_batch_ids(hub):
    answer = post(hub, [{"data": GOOD, "externalId": "a b.jpg", "storage": STORAGE}], batches=json.dumps([BATCH]))
    assert answer.status_code == 201
    assert answer.json() == {"status": "success", "data": {"assets": {"assetsCreated": 1, "tasksCreated": 1}}}
    project = requests.get(f"{hub.url}/v2/project/{PROJECT}", headers={"apikey": hub.api_key}, timeout=10).json()
    batch_id = project["data"]["project"]["batches"][0]["_id"]
    [asset] = hub.all_assets(PROJECT)
    assert asset["externalId"] == "a b.jpg" and asset["data"] == GOOD and asset["storage"] == STORAGE
    assert asset["batches"] == [batch_id] and asset["_id"] and asset["createdAt"]


def test_rate_limit_answers_429_with_retry_after(hub_factory):
    hub = hub_factory({"rate_limit_per_minute": 5})
    answers = [requests.get(f"{hub.url}/v2/storages", headers={"apikey": hub.api_key}, timeout=10)
               for _ in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert answers[-1].json()["status"] == "fail"


def test_assets_survive_a_restart(hub_factory, tmp_path):
    hub = hub_factory()
    assert post(hub, [{"data": GOOD, "externalId": "kept"}]).status_code == 201
    hub.stop()
    again = hub_factory(data_dir=hub.data_dir)
    assert [a["externalId"] for a in again.all_assets(PROJECT)] == ["kept"]


def test_listing_pages_sorts_and_filters(hub):
    for i in range(3):
        assert post(hub, [{"data": GOOD, "externalId": f"e{i}-{j}"} for j in range(50)]).status_code == 201
    get = lambda **p: requests.get(f"{hub.url}/v2/project/{PROJECT}/assets", params=p,
                                   headers={"apikey": hub.api_key}, timeout=10).json()["data"]
    first = get(page=1, limit=500)
    assert first["total"] == 150 and len(first["assets"]) == 100, "limit is capped at 100"
    assert first["assets"][0]["externalId"] == "e2-49", "newest first by default"
    assert get(page=2, limit=100)["assets"][-1]["externalId"] == "e0-0"
    assert get(sort="createdAt", limit=1)["assets"][0]["externalId"] == "e0-0"
    only = get(filters=json.dumps({"externalId": "e1-7"}))
    assert only["total"] == 1 and only["assets"][0]["externalId"] == "e1-7"
    by_id = get(filters=json.dumps({"_id": only["assets"][0]["_id"]}))
    assert by_id["assets"] == only["assets"]


def test_storages_project_and_batches_as_documented(hub):
    h = {"apikey": hub.api_key}
    storages = requests.get(f"{hub.url}/v2/storages", headers=h, timeout=10).json()["data"]["storages"]
    assert [s["_id"] for s in storages] == [STORAGE] and storages[0]["type"] == "gcs"
    created = requests.post(f"{hub.url}/v2/batches/{PROJECT}", headers=h, json={"name": "new"}, timeout=10)
    assert created.status_code == 201
    names = [b["name"] for b in requests.get(f"{hub.url}/v2/project/{PROJECT}", headers=h,
                                             timeout=10).json()["data"]["project"]["batches"]]
    assert names == [BATCH, "new"]
    assert requests.get(f"{hub.url}/v2/project/nope", headers=h, timeout=10).status_code == 404


def test_fault_switches_change_at_run_time_and_stats_count_them(hub):
    hub.faults(outage=True)
    assert requests.get(f"{hub.url}/v2/storages", headers={"apikey": hub.api_key}, timeout=10).status_code == 503
    hub.faults(outage=False, error_rate=1.0)
    assert requests.get(f"{hub.url}/v2/storages", headers={"apikey": hub.api_key}, timeout=10).status_code == 500
    hub.faults(error_rate=0.0, drop_after_commit=1.0)
    try:
        post(hub, [{"data": GOOD, "externalId": "dropped"}])
        raise AssertionError("the connection should have been dropped")
    except requests.ConnectionError:
        pass
    assert [a["externalId"] for a in hub.all_assets(PROJECT)] == ["dropped"], "stored before the drop"
    stats = hub.stats()["requests"]
    assert stats["GET /v2/storages"] == {"503": 1, "500": 1}
    assert stats["dropped after commit"] == {"-": 1}
    assert requests.post(f"{hub.url}/_admin/faults", json={"no_such": 1}, timeout=10).status_code == 400


def test_the_official_ango_sdk_works_against_the_stand_in_unchanged(hub):
    """The SDK (PyPI `ango`, in .venv-sdk: its pins differ from ours) drives the stand-in as it drives the Hub."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    python = root / ".venv-sdk" / "bin" / "python"
    assert python.exists(), "the ango SDK is missing: `make test` installs it into .venv-sdk"
    done = subprocess.run([str(python), str(Path(__file__).parents[1] / "ango_sdk_session.py"), hub.url, hub.api_key,
                           PROJECT, STORAGE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["storage"]["_id"] == STORAGE
    assert "sdk-batch" in [b["name"] for b in out["batches"]]
    assert out["upload"] == {"status": "success", "data": {"assets": {"assetsCreated": 2, "tasksCreated": 2}}}
    [asset] = out["assets"]["data"]["assets"]
    batch_id = next(b["_id"] for b in out["batches"] if b["name"] == "sdk-batch")
    assert asset["externalId"] == "sdk/c.jpg" and asset["storage"] == STORAGE and asset["batches"] == [batch_id]
    assert asset["priority"] == 5


def listing(hub, **params) -> dict:
    if isinstance(params.get("filters"), dict):
        params["filters"] = json.dumps(params["filters"])
    answer = requests.get(f"{hub.url}/v2/project/{PROJECT}/assets", params=params,
                          headers={"apikey": hub.api_key}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def delete(hub, ids, project=PROJECT):
    return requests.delete(f"{hub.url}/v2/project/{PROJECT}/assets", headers={"apikey": hub.api_key},
                           json={"project": project, "assets": ids}, timeout=10)


def test_soft_deleted_assets_leave_the_listing_and_the_filters_and_stay_deleted(hub_factory):
    hub = hub_factory()
    assert post(hub, [{"data": GOOD, "externalId": f"d{i}"} for i in range(3)]).status_code == 201
    ids = [a["_id"] for a in hub.all_assets(PROJECT)]
    answer = delete(hub, [ids[0], ids[1], "0" * 24])
    assert answer.status_code == 200
    assert answer.json() == {"status": "success", "data": {"deletedCount": 2}}, "an unknown id is ignored"
    assert [a["externalId"] for a in hub.all_assets(PROJECT)] == ["d2"]
    assert listing(hub, filters={"externalId": "d0"}) == {"assets": [], "total": 0}
    assert listing(hub, filters={"_id": ids[1]})["total"] == 0
    assert delete(hub, [ids[0]]).json()["data"]["deletedCount"] == 0, "deleting twice changes nothing"
    assert delete(hub, [ids[2]], project="other").status_code == 400
    assert delete(hub, []).status_code == 400
    counts = hub.stats()
    assert counts["assets"] == {PROJECT: 1} and counts["deleted"] == {PROJECT: 2}
    hub.stop()
    again = hub_factory(data_dir=hub.data_dir)
    assert [a["externalId"] for a in again.all_assets(PROJECT)] == ["d2"], "a restart keeps them deleted"


def test_stats_count_live_assets_and_duplicated_external_ids(hub):
    for _ in range(2):
        assert post(hub, [{"data": GOOD, "externalId": "twice"}, {"data": GOOD, "externalId": "x"}]).status_code == 201
    assert post(hub, [{"data": GOOD, "externalId": "once"}]).status_code == 201
    stats = hub.stats()
    assert stats["assets"] == {PROJECT: 5} and stats["duplicate_external_ids"] == {PROJECT: 2}
    extra = [a["_id"] for a in hub.all_assets(PROJECT) if a["externalId"] == "twice"][1:]
    assert delete(hub, extra).status_code == 200
    stats = hub.stats()
    assert stats["assets"] == {PROJECT: 4} and stats["duplicate_external_ids"] == {PROJECT: 1}


def test_storages_answer_a_page_of_10_newest_first_and_find_any_by_id(hub):
    # GIVEN 12 storage integrations, the fixture's demo-storage the oldest
    made = requests.post(f"{hub.url}/_admin/storages", json=[{"_id": f"s{i:02d}"} for i in range(1, 12)], timeout=10)
    assert made.status_code == 201 and len(made.json()) == 11
    get = lambda **p: requests.get(f"{hub.url}/v2/storages", params=p, headers={"apikey": hub.api_key},
                                   timeout=10).json()["data"]["storages"]
    # THEN the default page holds the newest 10, without the oldest
    first = get()
    assert [s["_id"] for s in first] == [f"s{i:02d}" for i in range(11, 1, -1)]
    assert all(s["createdAt"] for s in first)
    assert [s["_id"] for s in get(page=2)] == ["s01", STORAGE]
    assert len(get(limit=100)) == 12 and len(get(limit=1000)) == 12
    assert [s["_id"] for s in get(_id=STORAGE)] == [STORAGE], "_id finds one that no default page shows"
    assert get(_id="nope") == []
    assert requests.get(f"{hub.url}/v2/storages", params={"limit": "x"}, headers={"apikey": hub.api_key},
                        timeout=10).status_code == 400


def test_data_files_from_before_storages_had_created_at_still_load(hub_factory, tmp_path):
    data_dir = tmp_path / "old-hub"
    data_dir.mkdir()
    (data_dir / "hub.json").write_text(json.dumps({
        "projects": {PROJECT: {"_id": PROJECT, "name": PROJECT, "batches": [{"_id": "b1", "name": BATCH}]}},
        "storages": {STORAGE: {"_id": STORAGE, "name": STORAGE, "type": "gcs", "bucket": "", "public": False}}}))
    hub = hub_factory(data_dir=data_dir)
    [storage] = requests.get(f"{hub.url}/v2/storages", headers={"apikey": hub.api_key}, timeout=10).json()["data"]["storages"]
    assert storage["_id"] == STORAGE and storage["createdAt"]


def test_the_ango_sdk_finds_the_11th_storage_by_id_and_soft_deletes(hub):
    """What SDK 1.4.10 sends to storages (`?_id=`) and to delete_assets, answered as it expects."""
    import subprocess
    from pathlib import Path

    python = Path(__file__).resolve().parents[3] / ".venv-sdk" / "bin" / "python"
    assert python.exists(), "the ango SDK is missing: `make test` installs it into .venv-sdk"
    requests.post(f"{hub.url}/_admin/storages", json=[{"_id": f"s{i:02d}"} for i in range(1, 12)],
                  timeout=10).raise_for_status()
    assert post(hub, [{"data": GOOD, "externalId": "gone"}, {"data": GOOD, "externalId": "kept"}]).status_code == 201
    gone = next(a["_id"] for a in hub.all_assets(PROJECT) if a["externalId"] == "gone")
    script = ("import json, sys\nfrom imerit_ango.sdk import SDK\n"
              "url, key, project, storage, asset = sys.argv[1:6]\nsdk = SDK(api_key=key, host=url)\n"
              "print(json.dumps({'storage': sdk.get_storages(storage), 'listed': len(sdk.get_storages()['data']['storages']),"
              " 'deleted': sdk.delete_assets(project, [asset])}))\n")
    done = subprocess.run([str(python), "-c", script, hub.url, hub.api_key, PROJECT, STORAGE, gone],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["storage"]["_id"] == STORAGE and out["listed"] == 10
    assert out["deleted"]["status"] == "success"
    assert [a["externalId"] for a in hub.all_assets(PROJECT)] == ["kept"]
