"""What the operator's commands say of the Hub storage integration: `status` and `check` say the
flush is waiting (and what to do) or name each integration on ambiguity; `check` holds a configured
hub_storage_id to the landing bucket; `storages` lists them one a line. (No network: fakes.)"""
from __future__ import annotations

import json

from hub_import.core.bucket_storage import find, waiting_line
from hub_import.core.settings import load
from hub_import.ops import cli
from hub_import.ops.check import _storage_checks
from hub_import.ops.status import Status, status_table
from hub_import.ops.storages import last_found, listing, listing_lines
from hub_import.state.storage_record import StorageRecord
from tests.unit.flush.test_result_messages import DictStore

ENV = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing", "HUB_API_KEY": "k",
       "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": ""}
DISCOVERING = load(ENV)
WAITING = ("waiting for a Hub storage integration for bucket landing: create it in the Hub (Organization > "
           "Storages); nothing to re-apply")


class Hub:
    def __init__(self, *rows):
        self.rows = list(rows)

    def storages(self, deadline=None):
        return list(self.rows)

    def storage(self, storage_id, deadline=None):
        return next((r for r in self.rows if r["_id"] == storage_id), None)


def test_status_says_the_flush_waits_and_what_to_do():
    store = DictStore()
    assert "no flush has looked for the Hub storage integration of bucket landing" in last_found(DISCOVERING, store)["says"]
    StorageRecord(store, DISCOVERING.ledger_prefix).keep(find([], "landing"))
    found = last_found(DISCOVERING, store)
    assert found["state"] == "waiting" and found["says"] == WAITING == waiting_line("landing")
    table = status_table(Status(storage=found))
    assert table.startswith(f"storage: {WAITING} (since ")
    assert json.loads(json.dumps(Status(storage=found).to_json()))["storage"]["says"] == WAITING
    # with the id configured, status says nothing of it
    assert last_found(load({**ENV, "HUB_STORAGE_ID": "st"}), store) is None
    assert "storage:" not in status_table(Status())


def test_status_names_each_integration_when_two_read_the_bucket():
    store = DictStore()
    StorageRecord(store, DISCOVERING.ledger_prefix).keep(find([{"_id": "a", "bucket": "landing"},
                                                               {"_id": "b", "bucket": "landing"}], "landing"))
    assert "2 Hub storage integrations read bucket landing (a, b)" in status_table(Status(storage=last_found(DISCOVERING, store)))


def test_check_fails_while_waiting_with_the_same_words_and_passes_once_there_is_one():
    [waiting] = _storage_checks(DISCOVERING, Hub({"_id": "x", "bucket": "elsewhere"}))
    assert not waiting.ok and waiting.line() == f"FAIL Hub storage integration for bucket landing: {WAITING}"
    [many] = _storage_checks(DISCOVERING, Hub({"_id": "a", "bucket": "landing"}, {"_id": "b", "bucket": "landing"}))
    assert not many.ok and "(a, b)" in many.detail
    [one] = _storage_checks(DISCOVERING, Hub({"_id": "a", "bucket": "landing"}))
    assert one.ok and "a reads bucket landing" in one.detail
    [skipped] = _storage_checks(DISCOVERING, None)
    assert skipped.skipped


def test_check_holds_a_configured_storage_id_to_the_landing_bucket():
    settings = load({**ENV, "HUB_STORAGE_ID": "st"})
    [right] = _storage_checks(settings, Hub({"_id": "st", "type": "gcs", "bucket": "landing"}))
    assert right.ok and right.detail == "gcs bucket landing"
    [wrong] = _storage_checks(settings, Hub({"_id": "st", "type": "gcs", "bucket": "another"}))
    assert not wrong.ok and "not the landing bucket landing" in wrong.detail and "hub_import storages" in wrong.hint
    [missing] = _storage_checks(settings, Hub())
    assert not missing.ok and missing.detail == "no such storage integration"


def test_storages_lists_each_integration_on_one_line_the_landing_buckets_marked(monkeypatch, capsys):
    hub = Hub({"_id": "5f0a", "name": "inbox", "type": "gcs", "bucket": "landing"},
              {"_id": "5f0bcd", "name": "archive", "type": "gcs", "bucket": "old-archive"})
    lines = listing_lines(listing(hub, "landing"))
    assert lines == ["5f0a    gcs    bucket landing  name inbox  <- the landing bucket",
                     "5f0bcd  gcs    bucket old-archive  name archive"]
    monkeypatch.setattr("hub_import.flush.run.hub_client", lambda settings: hub)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["storages", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["_id"], r["bucket"], r["landing"]) for r in rows] == [("5f0a", "landing", True),
                                                                      ("5f0bcd", "old-archive", False)]
    assert cli.main(["storages"]) == 0 and capsys.readouterr().out.splitlines() == lines
