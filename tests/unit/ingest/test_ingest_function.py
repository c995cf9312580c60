"""The ingest entry point, served by functions-framework as Cloud Run functions serve it.

These cases end before Pub/Sub (ignored, malformed, stale, skipped); queued objects are
covered on the local stack in tests/integration/ingest/test_ingest_stack.py.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import functions_framework
import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from hub_import.core.messages import DeletionMessage
from hub_import.core.settings import load
from hub_import.ingest.events import (ARCHIVED, DELETED, FINALIZED, GONE, IgnoredEventError, MalformedEventError,
                                      StaleEventError, object_from_event)
from hub_import.ingest.handler import describe_deletion

ROOT = Path(__file__).resolve().parents[3]
ENV = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing",
       "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st", "PUBSUB_EMULATOR_HOST": "127.0.0.1:9"}  # nothing listens on 9


def resource(name="cams/a b.jpg", **extra):
    return {"bucket": "landing", "name": name, "generation": "1712345678901234", "size": "2048",
            "contentType": "image/jpeg", "timeCreated": datetime.now(timezone.utc).isoformat(), **extra}


def event(data, type_=FINALIZED, time=None):
    attributes = {"type": type_, "source": "//storage.googleapis.com/projects/_/buckets/landing",
                  "subject": "objects/x", "id": "evt-123"}
    if time:
        attributes["time"] = time
    return CloudEvent(attributes, data)


@pytest.fixture
def client(monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    app = functions_framework.create_app(target="on_object_finalized", source=str(ROOT / "main.py"),
                                         signature_type="cloudevent")
    return app.test_client()


@pytest.fixture
def lines(capsys):
    def read():
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return read


@pytest.mark.parametrize("mode", [to_binary, to_structured], ids=["binary", "structured"])
def test_a_folder_placeholder_is_acknowledged_and_logged_with_its_reason(client, lines, mode):
    headers, body = mode(event(resource("dir/")))
    answer = client.post("/", headers=headers, data=body)
    assert answer.status_code == 200
    [line] = [l for l in lines() if l["message"].startswith("skipped")]
    assert line["severity"] == "INFO" and line["reason"] == "folder placeholder"
    assert line["event_id"] == "evt-123" and line["object"] == "gs://landing/dir/"


def test_a_malformed_event_is_logged_as_an_error_and_not_retried(client, lines):
    headers, body = to_binary(event({"bucket": "landing"}))
    assert client.post("/", headers=headers, data=body).status_code == 200
    [line] = lines()
    assert line["severity"] == "ERROR" and "lacks 'name'" in line["message"] and line["event_id"] == "evt-123"


def test_an_event_of_another_type_is_ignored(client, lines):
    headers, body = to_binary(event(resource(), type_="google.cloud.storage.object.v1.metadataUpdated"))
    assert client.post("/", headers=headers, data=body).status_code == 200
    assert "ignored" in lines()[0]["message"]


@pytest.mark.parametrize("kind", [DELETED, ARCHIVED])
def test_by_default_a_deleted_object_is_ignored_and_its_asset_stays(client, lines, kind):
    headers, body = to_binary(event(resource(), type_=kind))
    assert client.post("/", headers=headers, data=body).status_code == 200
    [line] = lines()
    assert "ON_DELETE=ignore keeps its asset" in line["message"] and line["event_type"] == kind


DELETE_SETTINGS = load({**ENV, "ON_DELETE": "delete", "EXCLUDE_GLOBS": "tmp/**"})


def test_a_deletion_is_followed_only_when_no_generation_of_the_name_is_live(caplog):
    caplog.set_level(logging.INFO, logger="hub_import")  # (not as an earlier test may have left it)
    gone = object_from_event(event(resource(), type_=DELETED), 60, kinds=GONE)
    # GIVEN the name is live again (an overwrite announces the generation it replaced as deleted)
    assert describe_deletion(gone, DELETED, DELETE_SETTINGS, event="e1", live=lambda ref: ref.generation + 1) is None
    assert "an overwrite" in caplog.text
    # GIVEN nothing of it is live: a deletion, of the generation the event names
    message = describe_deletion(gone, ARCHIVED, DELETE_SETTINGS, event="e2", live=lambda ref: None)
    assert message == DeletionMessage(gone, "archived", "e2")


def test_a_deletion_of_an_object_the_rules_skip_is_not_queued():
    asked = []
    gone = object_from_event(event(resource("tmp/x.jpg"), type_=DELETED), 60, kinds=GONE)
    assert describe_deletion(gone, DELETED, DELETE_SETTINGS, live=asked.append) is None
    assert asked == []  # not even the bucket is asked


def test_a_deletion_is_as_old_as_its_event_not_as_its_object():
    made_long_ago = resource(timeCreated="2020-01-01T00:00:00Z")
    assert object_from_event(event(made_long_ago, type_=DELETED), 60, kinds=GONE).name == "cams/a b.jpg"
    with pytest.raises(StaleEventError):
        object_from_event(event(made_long_ago, type_=DELETED, time="2020-01-02T00:00:00Z"), 60, kinds=GONE)


def test_an_event_older_than_the_maximum_age_is_dropped_with_a_warning(client, lines):
    old = (datetime.now(timezone.utc) - timedelta(days=3)).isoformat()
    headers, body = to_binary(event(resource(), time=old))
    assert client.post("/", headers=headers, data=body).status_code == 200
    [line] = lines()
    assert line["severity"] == "WARNING" and "MAX_EVENT_AGE_SECONDS" in line["message"]


def test_a_bad_setting_stops_the_function_at_cold_start_naming_it(monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("HUB_PRIORITY", "urgent")
    with pytest.raises(Exception, match="HUB_PRIORITY: expected a whole number"):
        functions_framework.create_app(target="on_object_finalized", source=str(ROOT / "main.py"),
                                       signature_type="cloudevent")


def test_object_from_event_reads_the_object_resource():
    ref = object_from_event(event(resource(md5Hash="abc==", crc32c="xyz==")), max_age_s=60)
    assert (ref.bucket, ref.name, ref.generation, ref.size) == ("landing", "cams/a b.jpg", 1712345678901234, 2048)
    assert (ref.content_type, ref.md5_hash, ref.crc32c) == ("image/jpeg", "abc==", "xyz==")


@pytest.mark.parametrize("data,error", [
    (b"not json", MalformedEventError), ("a string", MalformedEventError),
    ({"bucket": "b", "name": "n", "generation": "x1"}, MalformedEventError),
    ({"bucket": "b", "name": "", "generation": "1"}, MalformedEventError),
])
def test_malformed_data_raises(data, error):
    with pytest.raises(error):
        object_from_event(event(data), max_age_s=60)


def test_other_types_and_stale_events_raise_their_own_errors():
    with pytest.raises(IgnoredEventError):
        object_from_event(event(resource(), type_="google.cloud.storage.object.v1.archived"), 60)
    with pytest.raises(StaleEventError):
        object_from_event(event(resource(), time="2020-01-01T00:00:00Z"), 60)


def test_when_pubsub_does_not_confirm_the_function_fails_so_that_eventarc_delivers_again(client, lines, monkeypatch):
    # GIVEN an eligible object, and a Pub/Sub that does not answer (nothing listens on port 9)
    from hub_import.core import clients
    from hub_import.core import messages as queue

    monkeypatch.setattr(queue, "PUBLISH_TIMEOUT_S", 1.0)
    clients.publisher_client.cache_clear()
    try:
        headers, body = to_binary(event(resource("docs/report.pdf", contentType="application/pdf")))
        # WHEN the event is delivered
        answer = client.post("/", headers=headers, data=body)
    finally:
        clients.publisher_client.cache_clear()  # the next test gets a client of its own environment
    # THEN the function fails, and Eventarc (which retries on a 5xx) delivers the event again
    assert answer.status_code == 500
