"""The health record (state/health.py) and what `status` and `trace` make of it (issue 20): during a
Hub outage with files waiting, `status` leads with the outage and how many wait, and `trace` of a
waiting file says it is queued and why, not "not seen". Whole flushes over the in-memory fakes of
tests/unit/flush (no network)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from hub_import.core import clock
from hub_import.core.settings import load
from hub_import.flush.backlog import EMULATOR, Backlog, read_backlog
from hub_import.flush.run import Flush
from hub_import.hub import HubUnavailableError
from hub_import.ops import trace as trace_module
from hub_import.ops.health_view import HUB_SILENT_FLUSHES, judge
from hub_import.ops.status import status, status_table
from hub_import.state import health
from tests.unit.flush.test_flush_in_memory import ENV, Hub, ListingStore, Subscriber, message
from tests.unit.flush.test_result_messages import Publisher

SETTINGS = load(ENV)
FILES = [f"cams/{n:03d}.jpg" for n in range(200)]


class DownHub(Hub):
    """Every call answers 503 (the stand-in's `outage`)."""

    def ping(self, deadline=None):
        self.calls += 1
        raise HubUnavailableError("503 on GET /v2/storages: Service Unavailable", 503)


class NoDeadLetters:
    def pull(self, **kwargs):
        return SimpleNamespace(received_messages=[])

    def modify_ack_deadline(self, **kwargs):
        pass


class Landing:
    """The landing bucket, holding every file of FILES."""

    def bucket(self, name):
        def get_blob(blob_name):
            if blob_name not in FILES:
                return None
            return SimpleNamespace(bucket=SimpleNamespace(name=name), name=blob_name, generation=1, size=10,
                                   content_type="image/jpeg", md5_hash="", crc32c="", metadata={},
                                   time_created=datetime(2026, 12, 2, 18, 0, tzinfo=timezone.utc), updated=None)
        return SimpleNamespace(get_blob=get_blob)


def backlog_of(n: int):
    """A reader as Cloud Monitoring would answer: `n` messages, the oldest 10 minutes old."""
    return lambda subscription: Backlog(n, 600, clock.now() - 60, "Cloud Monitoring")


def flushes(store, hub, count: int, backlog=None, subscriber=None) -> list:
    waiting = [[(f"a{i}", message(name)) for i, name in enumerate(FILES)]]
    return [Flush(SETTINGS, hub, store, subscriber or Subscriber(*waiting), Publisher(), backlog=backlog).run()
            for _ in range(count)]


def test_during_a_hub_outage_status_names_it_and_the_waiting_files_and_trace_says_queued(monkeypatch):
    # GIVEN 200 files waiting in the queue and a Hub that answers every call with 503
    store = ListingStore()
    # WHEN the scheduler flushes three times
    summaries = flushes(store, DownHub(), 3, backlog=backlog_of(200))
    assert all(s.pulled == 0 and s.hub_unavailable for s in summaries)  # nothing pulled: no attempt spent
    # THEN status's first line names the outage, since when, for how many flushes, and the 200 files
    told = status(SETTINGS, store, NoDeadLetters())
    first = status_table(told).split("\n")[0]
    assert re.fullmatch(r"the Hub has not answered since \d\d:\d\dZ \(3 flushes\); 200 files wait in the queue",
                        first), first
    assert told.to_json()["health"]["says"] == first
    assert (told.to_json()["health"]["state"], told.to_json()["health"]["healthy"]) == ("hub_silent", False)
    # ... an outage of three flushes does not yet need a person; past HUB_SILENT_FLUSHES it does
    assert told.problems() == []
    flushes(store, DownHub(), HUB_SILENT_FLUSHES - 2, backlog=backlog_of(200))
    assert any("has not answered" in p for p in status(SETTINGS, store, NoDeadLetters()).problems())
    # AND trace of a waiting file says it is queued because the Hub does not answer, not "not seen"
    monkeypatch.setattr(trace_module, "_dead_letters", lambda *a: [])
    t = trace_module.trace(SETTINGS, f"gs://landing/{FILES[7]}", storage=Landing(), store=store,
                           subscriber=None, hub=None)
    assert t.outcome == "queued", t.verdict
    assert t.verdict.startswith("queued; the Hub has not answered since "), t.verdict
    assert "not seen" not in t.verdict


def test_once_the_hub_answers_again_status_is_healthy_and_the_outage_count_starts_over():
    store = ListingStore()
    flushes(store, DownHub(), 2, backlog=backlog_of(200))
    # WHEN the Hub answers, and the flush drains the queue
    [summary] = flushes(store, Hub(), 1, backlog=backlog_of(0))
    assert summary.sent == 200
    record = health.read(store, SETTINGS.ledger_prefix)
    assert (record["hub_answered"], record["hub_silent_since"], record["flushes_without_hub"]) == (True, None, 0)
    told = status(SETTINGS, store, NoDeadLetters())
    assert status_table(told).split("\n")[0] == "healthy"
    assert told.to_json()["health"]["healthy"] is True
    assert "last import: " in status_table(told) and told.to_json()["last_import"]["assets"] == 200


def test_where_the_backlog_is_not_reported_it_is_unknown_never_zero(monkeypatch):
    # GIVEN the Pub/Sub emulator (it has no backlog metric)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:9")
    assert read_backlog(SETTINGS.subscription_path) == Backlog(says=EMULATOR)
    store = ListingStore()
    flushes(store, DownHub(), 2, backlog=read_backlog)
    record = health.read(store, SETTINGS.ledger_prefix)
    assert record["backlog"] is None and record["backlog_says"] == EMULATOR
    first = status_table(status(SETTINGS, store, NoDeadLetters())).split("\n")[0]
    assert first.endswith("(2 flushes); how many files wait is unknown (the Pub/Sub emulator reports no backlog)")
    assert "backlog: unknown" in status_table(status(SETTINGS, store, NoDeadLetters()))


def test_a_flush_that_hands_messages_back_counts_them_and_keeps_the_oldest_publish_time():
    # GIVEN a Hub that answers the ping, then refuses the batch read: every group is deferred
    class NoBatchHub(Hub):
        def batch_ids(self, project, names, **kwargs):
            raise HubUnavailableError("429 on GET /v2/project: Too Many Requests", 429)

    published = datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc)

    class Dated(Subscriber):
        def pull(self, **kwargs):
            answer = super().pull(**kwargs)
            for r in answer.received_messages:
                r.message.publish_time = published
            return answer

    store = ListingStore()
    waiting = [(f"a{i}", message(name)) for i, name in enumerate(FILES[:5])]
    Flush(SETTINGS, NoBatchHub(), store, Dated(waiting), Publisher()).run()
    record = health.read(store, SETTINGS.ledger_prefix)
    assert record["deferred"] == 5 and record["waiting_at_least"] == 5
    assert record["oldest_waiting_published"] == "2026-12-02T17:00:00Z"
    assert record["backlog"] is None and record["backlog_says"] == "unknown: not read"


def test_no_flush_for_longer_than_a_flush_can_take_is_said_and_needs_a_person():
    store = ListingStore()
    flushes(store, Hub(), 1)
    record = health.read(store, SETTINGS.ledger_prefix)
    later = clock.epoch(record["at"]) + 14 * 60
    judged = judge(record, SETTINGS, now=later)
    assert judged.line.startswith("no flush has run for 14 min (the last at ") and judged.problems
    assert judge(None, SETTINGS).line.startswith("no flush has run yet")


def test_writing_the_health_record_never_fails_the_flush():
    class Failing(ListingStore):
        def write(self, path, body, if_generation_match=None):
            if path == health.path(SETTINGS.ledger_prefix):
                raise RuntimeError("503 from GCS")
            return super().write(path, body, if_generation_match)

    [summary] = flushes(Failing(), Hub(), 1)
    assert summary.sent == 200 and not summary.error


def test_the_backlog_is_the_newest_cloud_monitoring_sample():
    class Session:
        def __init__(self):
            self.asked = []

        def get(self, url, timeout, params):
            self.asked.append(params["filter"])
            value = "200" if "num_undelivered" in params["filter"] else "600"
            points = [{"interval": {"endTime": "2026-12-02T18:00:00Z"}, "value": {"int64Value": "1"}},
                      {"interval": {"endTime": "2026-12-02T18:01:00Z"}, "value": {"int64Value": value}}]
            return SimpleNamespace(raise_for_status=lambda: None, json=lambda: {"timeSeries": [{"points": points}]})

    session = Session()
    with pytest.MonkeyPatch.context() as m:
        m.delenv("PUBSUB_EMULATOR_HOST", raising=False)
        got = read_backlog("projects/p/subscriptions/hub-import", session=session)
    assert (got.messages, got.oldest_age_s, clock.iso(got.as_of)) == (200, 600, "2026-12-02T18:01:00Z")
    assert all('subscription_id="hub-import"' in f for f in session.asked)


def test_the_health_record_is_small_and_plain_json():
    store = ListingStore()
    flushes(store, DownHub(), 1, backlog=backlog_of(3))
    doc = store.read(health.path(SETTINGS.ledger_prefix))
    assert len(json.dumps(doc.body)) < 2000
    assert doc.body["at"].endswith("Z") and doc.body["hub_silent_since"].endswith("Z")


@pytest.mark.parametrize("outage_flushes,code", [(1, 0), (HUB_SILENT_FLUSHES + 1, 1)])
def test_status_exit_code_is_1_only_when_something_needs_a_person(monkeypatch, capsys, env, outage_flushes, code):
    from hub_import.core import clients
    from hub_import.ops import cli
    from hub_import.state import store as store_module

    store = ListingStore()
    flushes(store, DownHub(), outage_flushes, backlog=backlog_of(200))
    monkeypatch.setattr(clients, "storage_client", lambda: SimpleNamespace(bucket=lambda name: None))
    monkeypatch.setattr(clients, "subscriber_client", lambda: NoDeadLetters())
    monkeypatch.setattr(store_module, "JsonStore", lambda bucket: store)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["status"]) == 0  # without the flag: 0 whatever it finds
    assert cli.main(["status", "--exit-code"]) == code
    assert capsys.readouterr().out.startswith("the Hub has not answered since ")


def record(**fields) -> dict:
    """A health record as the last flush would write it, a moment ago."""
    return {"version": 1, "at": clock.iso(clock.now()), "flush_id": "f", "seconds": 1.0, "error": None,
            "hub_answered": True, "hub_error": None, "hub_silent_since": None, "flushes_without_hub": 0,
            "pulled": 0, "sent": 0, "found_in_hub": 0, "deferred": 0, "failed": 0, "dead_lettered": 0,
            "waiting_why": None, "waiting_at_least": 0, "oldest_waiting_published": None, "backlog": None,
            "backlog_as_of": None, "backlog_says": EMULATOR, **fields}


@pytest.mark.parametrize("fields,state,line,needs_a_person", [
    ({}, "healthy", "healthy", False),
    ({"waiting_why": "waiting for a Hub storage integration for bucket landing: create it in the Hub"},
     "storage_waiting", "waiting for a Hub storage integration for bucket landing: create it in the Hub; how many "
     "files wait is unknown (the Pub/Sub emulator reports no backlog)", True),
    ({"waiting_why": "lease held: flush f0 is sending; this one did nothing", "hub_answered": None},
     "lease_held", "another flush is sending (flush f0 is sending; this one did nothing)", False),
    ({"waiting_why": "flush failed: ServiceUnavailable: 503 from GCS", "error": "ServiceUnavailable: 503 from GCS"},
     "flush_failed", "the last flush failed", True),
    ({"waiting_why": "rate limited by the Hub: 429 on POST", "hub_answered": False, "flushes_without_hub": 9,
      "hub_silent_since": "2026-12-02T18:02:00Z", "backlog": 1},
     "rate_limited", "the Hub rate-limits every flush since", True),
    ({"waiting_why": "the Hub refuses the API key: 401 on GET /v2/storages: Unauthorized", "hub_answered": False,
      "flushes_without_hub": 1, "hub_silent_since": "2026-12-02T18:02:00Z"},
     "key_refused", "the Hub refuses the API key since", True),
    ({"waiting_why": "waiting for a Hub storage integration: 2 Hub storage integrations read bucket landing (a, b)"},
     "storage_waiting", "waiting for a Hub storage integration: 2 Hub storage", True),
    ({"waiting_why": "deferred: 5 message(s) handed back for a later flush", "waiting_at_least": 5},
     "catching_up", "healthy; catching up: at least 5 files wait in the queue", False),
])
def test_each_cause_has_its_health_line(fields, state, line, needs_a_person):
    judged = judge(record(**fields), SETTINGS)
    assert judged.state == state and judged.line.startswith(line), judged.line
    assert bool(judged.problems) == needs_a_person


def test_a_file_not_seen_while_the_flush_is_healthy_is_not_seen_and_says_the_last_flush(monkeypatch):
    store = ListingStore()
    flushes(store, Hub(), 1, subscriber=Subscriber())  # nothing in the queue
    monkeypatch.setattr(trace_module, "_dead_letters", lambda *a: [])
    t = trace_module.trace(SETTINGS, f"gs://landing/{FILES[7]}", storage=Landing(), store=store, subscriber=None,
                           hub=None)
    assert t.outcome == "not_seen" and t.verdict.endswith("; the last flush: healthy"), t.verdict
