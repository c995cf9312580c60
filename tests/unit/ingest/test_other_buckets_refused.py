"""Issue 22: the ingest function queues only objects of the landing bucket. An event naming any
other bucket (a trigger misconfigured, or an event forged) is answered with one clear log line and
nothing queued; answered, not raised, so that Eventarc does not retry it."""
from __future__ import annotations

import logging

import pytest

from hub_import.core.environment import ConfigError
from hub_import.core.settings import load
from hub_import.ingest import handler
from hub_import.ingest.events import DELETED, FINALIZED
from tests.unit.ingest.test_ingest_function import ENV, event, resource

SETTINGS = load({**ENV, "ON_DELETE": "delete", "PROBE_IMAGE_SIZE": "false"})


@pytest.fixture
def published(monkeypatch):
    """What the handler publishes (nothing leaves the process)."""
    sent = []
    monkeypatch.setattr(handler, "publish", lambda topic, message: sent.append(message) or "future")
    monkeypatch.setattr(handler, "wait", lambda future, timeout=None: "message-id")
    monkeypatch.setattr(handler, "live_generation", lambda ref: None)
    return sent


@pytest.mark.parametrize("kind", [FINALIZED, DELETED])
def test_an_event_for_another_bucket_is_refused_with_one_line_and_nothing_queued(published, caplog, kind):
    caplog.set_level(logging.INFO, logger="hub_import")
    # GIVEN an event naming an object of a bucket that is not LANDING_BUCKET
    forged = event(resource("hr/salaries.pdf", bucket="confidential-bucket"), type_=kind)
    # WHEN the ingest function handles it
    outcome = handler.handle_event(forged, SETTINGS)
    # THEN it returns (no retry), queues nothing, and says why in one WARNING line
    assert outcome == "refused" and published == []
    [line] = [r for r in caplog.records if "refused" in r.getMessage()]
    assert line.levelno == logging.WARNING
    assert "bucket confidential-bucket is not the landing bucket (landing)" in line.getMessage()


def test_an_event_for_the_landing_bucket_is_still_queued(published):
    assert handler.handle_event(event(resource("a.jpg")), SETTINGS) == "queued"
    assert [m.ref.uri for m in published] == ["gs://landing/a.jpg"]


def test_without_landing_bucket_an_event_is_raised_to_be_delivered_again_not_queued_nor_dropped(published):
    settings = load({k: v for k, v in ENV.items() if k != "LANDING_BUCKET"})
    with pytest.raises(ConfigError, match="LANDING_BUCKET"):
        handler.handle_event(event(resource("a.jpg")), settings)
    assert published == []
