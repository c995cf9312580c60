"""On the local stack: files uploaded to the bucket arrive as described, routed messages."""
from __future__ import annotations

import uuid

from deploy.local.samples import make_image
from hub_import.core.messages import ObjectMessage
from tests.integration.conftest import ingest_lines, pull_until, wait_for_ingest


def test_uploaded_objects_arrive_as_exactly_the_expected_messages(stack, landing):
    # GIVEN a fresh folder of eligible and ineligible objects
    run = f"ingest-{uuid.uuid4().hex[:8]}/"
    eligible = {
        run + "cams/photo.jpg": (make_image("JPEG", 640, 480, orientation=6), "image/jpeg", [480, 640]),
        run + "scans/ä b+#?.png": (make_image("PNG", 300, 200), "image/png", [300, 200]),
        run + "docs/report.pdf": (b"%PDF-1.4 tiny", "application/pdf", None),
        run + "broken.jpg": (b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg", None),
    }
    skipped = {
        run + "setup.exe": (b"MZ", "application/octet-stream"),
        run + "empty.jpg": (b"", "image/jpeg"),
        run + "folder/": (b"", "application/x-directory"),
    }
    # WHEN they are uploaded
    for name, (data, kind) in skipped.items():
        landing.blob(name).upload_from_string(data, content_type=kind)
    generations = {}
    for name, (data, kind, _) in eligible.items():
        blob = landing.blob(name)
        blob.upload_from_string(data, content_type=kind)
        generations[name] = blob.generation
    # THEN exactly the eligible ones are queued, once each, described and routed
    messages = pull_until(stack, lambda m: m.attributes["name"].startswith(run), len(eligible), settle=2)
    by_name = {m.attributes["name"]: ObjectMessage.decode(m.data) for m in messages}
    assert sorted(m.attributes["name"] for m in messages) == sorted(eligible)
    for name, (data, kind, size) in eligible.items():
        message = by_name[name]
        assert message.ref.generation == generations[name] and message.ref.size == len(data)
        assert message.ref.content_type == kind and message.ref.bucket == stack["LANDING_BUCKET"]
        assert message.destination.project == stack["HUB_PROJECT_ID"]
        assert message.destination.storage == stack["HUB_STORAGE_ID"]
        assert message.size == (tuple(size) if size else None), name
        assert message.event_id and message.source == "event"
    raw = next(m for m in messages if m.attributes["name"] == run + "cams/photo.jpg")
    assert raw.attributes["generation"] == str(generations[run + "cams/photo.jpg"])


def test_each_skip_and_each_unreadable_image_is_logged_with_its_reason(stack, landing):
    run = f"logs-{uuid.uuid4().hex[:8]}/"
    landing.blob(run + "setup.exe").upload_from_string(b"MZ", content_type="application/octet-stream")
    landing.blob(run + "broken.png").upload_from_string(b"\x89PNG\r\n\x1a\n garbage", content_type="image/png")
    pull_until(stack, lambda m: m.attributes["name"].startswith(run), 1, settle=1)
    wait_for_ingest(stack, run, "skipped: type not allowed", 1)
    mine = [l for l in ingest_lines(stack, run, "") if run in l.get("object", "")]
    assert any(l["message"].startswith("skipped: type not allowed") for l in mine)
    assert any(l["severity"] == "WARNING" and "image size unknown" in l["message"] for l in mine)
    assert all(l.get("event_id") for l in mine), "every line about an event carries its id"


def test_a_large_image_is_sized_without_reading_more_than_the_cap(stack, landing):
    run = f"large-{uuid.uuid4().hex[:8]}/"
    data = make_image("JPEG", 2000, 1500, orientation=8, exif_padding=60_000, noise=True, quality=95)
    assert len(data) > 3_000_000, "far larger than the 1 MiB cap"
    landing.blob(run + "big.jpg").upload_from_string(data, content_type="image/jpeg")
    [message] = pull_until(stack, lambda m: m.attributes["name"].startswith(run), 1)
    assert ObjectMessage.decode(message.data).size == (1500, 2000)
    [queued] = wait_for_ingest(stack, run, "queued", 1)
    assert 0 < queued["probe_bytes"] <= 64 * 1024, "a few small ranged reads, far below the 1 MiB cap"
