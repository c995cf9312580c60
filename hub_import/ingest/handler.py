"""What the ingest function does with one object: filter, route, size, publish; and, with
ON_DELETE=delete, with one deleted from the bucket: check that it is gone for good, publish.

`describe` is shared with backfill, so that an object found by listing is treated exactly as
one announced by an event.
"""
from __future__ import annotations

import logging

from hub_import.core.admission import foreign_bucket
from hub_import.core.decisions import decide, extension
from hub_import.core.environment import ConfigError
from hub_import.core.logs import log
from hub_import.core.messages import DeletionMessage, ObjectMessage, publish, wait
from hub_import.core.objects import ObjectRef, live_generation
from hub_import.core.settings import Settings

from .events import (ARCHIVED, FINALIZED, GONE, EventError, IgnoredEventError, MalformedEventError, event_id,
                     event_type, object_from_event)
from .probe import ProbeError, image_size

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "jpe", "png", "gif", "webp", "bmp", "tif", "tiff"})


def looks_like_image(ref: ObjectRef) -> bool:
    return ref.content_type.lower().startswith("image/") or extension(ref.name) in IMAGE_EXTENSIONS


def gcs_fetch(ref: ObjectRef):
    """A ranged reader of exactly this object version, for the probe."""
    from google.api_core import exceptions

    from hub_import.core.clients import storage_client

    blob = storage_client().bucket(ref.bucket).blob(ref.name, generation=ref.generation)

    def fetch(start: int, end: int) -> bytes:
        try:
            return blob.download_as_bytes(start=start, end=end - 1, checksum=None, raw_download=True)
        except exceptions.NotFound:
            raise ProbeError("the object (this generation) no longer exists") from None
        except exceptions.RequestRangeNotSatisfiable:
            return b""
        except exceptions.GoogleAPICallError as exc:
            raise ProbeError(f"reading the header failed: {exc.code} {exc.message}") from None
    return fetch


def describe(ref: ObjectRef, settings: Settings, *, event: str = "", source: str = "event",
             fetch=None) -> ObjectMessage | None:
    """The message for one object, or None (logged with the reason) when it is skipped."""
    decision = decide(ref, settings)
    if decision.destination is None:
        log(logger, logging.INFO, f"skipped: {decision.reason}", event_id=event, object=ref.uri,
            generation=ref.generation, reason=decision.reason)
        return None
    size, probe_bytes = None, 0
    if settings.probe_image_size and looks_like_image(ref):
        try:
            found = image_size(fetch or gcs_fetch(ref), ref.size, settings.probe_max_bytes)
            size, probe_bytes = (found.width, found.height), found.bytes_read
        except ProbeError as exc:
            log(logger, logging.WARNING, f"image size unknown: {exc}", event_id=event, object=ref.uri,
                generation=ref.generation)
    return ObjectMessage(ref=ref, destination=decision.destination, size=size, event_id=event, source=source,
                         probe_bytes=probe_bytes)


def describe_deletion(ref: ObjectRef, kind: str, settings: Settings, *, event: str = "",
                      live=live_generation) -> DeletionMessage | None:
    """The deletion message for `ref` (gone by a `kind` event: deleted or archived), or None,
    logged, when it is none to follow: today's rules skip the object, or a generation of its name
    is live (an overwrite announces the generation it replaced as deleted or archived: the
    object is still there, and its asset's default data URL names it, not the generation).
    Rules on content (empty, MAX_OBJECT_BYTES, content type) are not asked: the generation that
    leaves may not be the one imported (an overwrite the rules skipped, a limit lowered since),
    and following an object the flush never imported costs only a ledger record."""
    decision = decide(ref, settings, resolve=False, content=False)
    if decision.destination is None:
        log(logger, logging.INFO, f"deletion skipped: {decision.reason}", event_id=event, object=ref.uri,
            generation=ref.generation, reason=decision.reason)
        return None
    current = live(ref)
    if current is not None:
        log(logger, logging.INFO, "not a deletion: a generation of the object is live (an overwrite)", event_id=event,
            object=ref.uri, generation=ref.generation, live_generation=current)
        return None
    return DeletionMessage(ref, "archived" if kind == ARCHIVED else "deleted", event)


def handle_event(event, settings: Settings) -> str:
    """Queue the object a CloudEvent announces (finalized; with ON_DELETE=delete, deleted or
    archived too) of the landing bucket. Returns what happened ("queued", "skipped", "ignored",
    "refused": another bucket's object, logged, as the flush would refuse it). Raises (so that
    Eventarc retries) PublishError when Pub/Sub does not confirm, ConfigError while LANDING_BUCKET
    is unset, or GCS's error when it cannot say whether a deleted object's name is live."""
    eid = event_id(event)
    kind = event_type(event)
    if kind in GONE and not settings.delete_follows:
        log(logger, logging.INFO, "ignored: an object left the bucket, and ON_DELETE=ignore keeps its asset",
            event_id=eid, event_type=kind)
        return "ignored"
    try:
        ref = object_from_event(event, settings.max_event_age_s, kinds=GONE if kind in GONE else (FINALIZED,))
    except IgnoredEventError as exc:
        log(logger, logging.INFO, f"ignored: {exc}", event_id=eid)
        return "ignored"
    except MalformedEventError as exc:
        log(logger, logging.ERROR, f"malformed event acknowledged without import: {exc}", event_id=eid)
        return "ignored"
    except EventError as exc:
        log(logger, logging.WARNING, f"dropped: {exc}", event_id=eid)
        return "ignored"
    if not settings.landing_bucket:  # raised, so that Eventarc delivers it again once it is set: nothing lost
        raise ConfigError("LANDING_BUCKET: not set, so no event's bucket can be told the landing bucket; "
                          "set it to the bucket files land in")
    foreign = foreign_bucket(ref.bucket, settings)
    if foreign:  # the flush would refuse it too (core/admission.py); answered, so Eventarc does not retry
        log(logger, logging.WARNING, f"refused: {foreign}; nothing queued", event_id=eid, object=ref.uri,
            event_type=kind)
        return "refused"
    if kind in GONE:
        gone = describe_deletion(ref, kind, settings, event=eid)
        if gone is None:
            return "skipped"
        message_id = wait(publish(settings.topic_path, gone))
        log(logger, logging.INFO, "deletion queued", event_id=eid, object=ref.uri, generation=ref.generation,
            event_type=kind, message_id=message_id)
        return "queued"
    message = describe(ref, settings, event=eid)
    if message is None:
        return "skipped"
    message_id = wait(publish(settings.topic_path, message))
    log(logger, logging.INFO, "queued", event_id=eid, object=ref.uri, generation=ref.generation,
        project=message.destination.project, size=message.size, probe_bytes=message.probe_bytes,
        message_id=message_id)
    return "queued"
