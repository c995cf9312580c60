"""The local Eventarc bridge sends the CloudEvent types Eventarc sends, and deletions only when
the stack follows them (as Terraform makes the deletion triggers only for ON_DELETE=delete)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from deploy.local.eventarc_bridge import DELETION_TYPES, EVENT_TYPES, cloud_event


def notification(event_type: str):
    return SimpleNamespace(attributes={"eventType": event_type, "bucketId": "landing", "objectId": "a b/ü.jpg",
                                       "eventTime": "2026-01-01T00:00:00Z"},
                           data=b'{"bucket": "landing"}', message_id="m1")


@pytest.mark.parametrize("kind,ce_type", [("OBJECT_DELETE", "google.cloud.storage.object.v1.deleted"),
                                          ("OBJECT_ARCHIVE", "google.cloud.storage.object.v1.archived")])
def test_deletions_go_as_eventarc_types_only_when_asked_for(kind, ce_type):
    assert cloud_event(notification(kind)) is None  # the default: finalized objects only
    headers, body = cloud_event(notification(kind), {**EVENT_TYPES, **DELETION_TYPES})
    assert headers["ce-type"] == ce_type and headers["ce-subject"] == "objects/a b/%C3%BC.jpg"
    assert headers["ce-source"] == "//storage.googleapis.com/projects/_/buckets/landing" and body
    assert cloud_event(notification("OBJECT_METADATA_UPDATE"), {**EVENT_TYPES, **DELETION_TYPES}) is None


def test_events_are_lost_only_for_the_names_the_lose_file_lists(tmp_path):
    from deploy.local.eventarc_bridge import lost

    message = notification("OBJECT_FINALIZE")  # objectId "a b/ü.jpg"
    assert not lost(message, None) and not lost(message, str(tmp_path / "absent"))
    (tmp_path / "lose").write_text("other/\n\n")
    assert not lost(message, str(tmp_path / "lose"))
    (tmp_path / "lose").write_text("other/\na b/\n")
    assert lost(message, str(tmp_path / "lose"))
