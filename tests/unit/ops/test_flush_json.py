"""The flush summary (`flush --json`, the flush function's HTTP answer, its last log line) holds to
docs/json/flush.md: every key documented, counts integers, times ISO 8601 UTC or null, never epoch
seconds or "". Whole flushes over the in-memory fakes of tests/unit/flush (no network)."""
from __future__ import annotations

import importlib
import sys
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from hub_import.core import clock
from hub_import.flush.run import Flush
from hub_import.flush.summary import Summary
from hub_import.hub import HubUnavailableError
from tests.unit.flush.test_flush_in_memory import ENV, Hub, ListingStore, Subscriber, message
from tests.unit.flush.test_result_messages import Publisher
from tests.unit.ops.test_health import FILES, SETTINGS, DownHub
from tests.unit.ops.test_json_schemas import holds


def run(hub, subscriber, store=None) -> dict:
    return Flush(SETTINGS, hub, store or ListingStore(), subscriber, Publisher()).run().to_json()


def test_a_flush_that_sent_files_holds_to_the_schema():
    told = run(Hub(), Subscriber([(f"a{i}", message(n)) for i, n in enumerate(FILES[:3])]))
    holds(told, "flush.md")
    assert told["pulled"] == 3 and told["sent"] == 3 and isinstance(told["seconds"], float)
    assert told["manifests"] and told["lease_held_until"] is None and told["oldest_deferred_published"] is None


def test_a_flush_in_a_hub_outage_holds_to_the_schema():
    told = run(DownHub(), Subscriber([("a0", message(FILES[0]))]))
    holds(told, "flush.md")
    assert "503" in told["hub_unavailable"] and told["pulled"] == 0


def test_a_flush_that_hands_messages_back_says_when_the_oldest_was_published_in_iso_utc():
    class NoBatchHub(Hub):
        def batch_ids(self, project, names, **kwargs):
            raise HubUnavailableError("429 on GET /v2/project: Too Many Requests", 429)

    class Dated(Subscriber):
        def pull(self, **kwargs):
            answer = super().pull(**kwargs)
            for r in answer.received_messages:
                r.message.publish_time = datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc)
            return answer

    told = run(NoBatchHub(), Dated([(f"a{i}", message(n)) for i, n in enumerate(FILES[:2])]))
    holds(told, "flush.md")
    assert told["deferred"] == 2 and told["oldest_deferred_published"] == "2026-12-02T17:00:00Z"


def test_a_flush_that_finds_the_lease_held_says_until_when_in_iso_utc_not_epoch_seconds():
    store = ListingStore()
    until = clock.now() + 120
    store.create(f"{SETTINGS.ledger_prefix}leases/flush.json", {"owner": "f-other", "until": until, "at": until - 300})
    told = run(Hub(), Subscriber([("a0", message(FILES[0]))]), store)
    holds(told, "flush.md")
    assert told["lease_held_by"] == "f-other" and told["lease_held_until"] == clock.iso(until)
    assert told["lease_held_until"].endswith("Z") and told["pulled"] == 0


def test_the_schema_test_fails_on_an_undocumented_field_a_string_count_or_an_epoch_time():
    told = Summary("f-1").to_json()
    holds(told, "flush.md")
    for wrong, says in [({"pulled_total": 1}, "not documented"), ({"pulled": "3"}, "is not integer"),
                        ({"lease_held_until": 1764000000.5}, "is not time"),
                        ({"oldest_deferred_published": "2026-12-02 17:00:00"}, "is not time")]:
        with pytest.raises(AssertionError, match=says):
            holds({**told, **wrong}, "flush.md")
    with pytest.raises(AssertionError, match="documented but missing"):
        holds({k: v for k, v in told.items() if k != "queue_empty"}, "flush.md")


def test_the_flush_functions_http_answer_is_the_summary_as_documented(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(sys.modules, "main", raising=False)
    main = importlib.import_module("main")
    try:
        summary = Summary("f-1", pulled=2, sent=2, manifests=["m/1.json"], lease_held_until=None)
        monkeypatch.setattr(main, "flush_once", lambda settings: summary)
        answer = main.flush(SimpleNamespace(method="POST"))
        holds(answer, "flush.md")
        assert answer == summary.to_json() and answer["sent"] == 2
        assert main.flush(SimpleNamespace(method="GET"))[1] == 405
    finally:
        sys.modules.pop("main", None)
