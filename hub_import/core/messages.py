"""The messages between ingest and flush, each a versioned JSON body.

An object to import (version 1): {"v": 1, "object": ObjectRef, "destination": Destination,
"size": [w, h] or null, "event_id": str, "source": "event" | "backfill"}. The object's `metadata` (its
custom metadata) and the destination's `templates` ({batch name: template}) are there only when
not empty, so a message without them (from before they existed) reads as one with none.
An object deleted from the bucket (version 2, ON_DELETE=delete): {"v": 2, "kind": "delete",
"object": ObjectRef, "event": "deleted" | "archived", "event_id": str, "source": "event"}.
A deletion is a version of its own so that a flush older than it refuses it as an unknown
version (a dead letter, brought back by `replay --dead-letters` after the upgrade) instead of
reading it as an object to import. Attributes: bucket, name, generation (and kind=delete), so
that a message can be found and filtered without decoding it. `decode_message` reads both.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .clients import publisher_client
from .objects import ObjectRef
from .routes import Destination
from .text import cut_utf8

VERSION = 1
DELETION_VERSION = 2
DELETION_EVENTS = ("deleted", "archived")
PUBLISH_TIMEOUT_S = 30.0


class PublishError(Exception):
    """Pub/Sub did not confirm a message in time; the caller should fail so the event is retried."""


class MessageError(ValueError):
    """A message body that is neither an object message nor a deletion message (a poison message)."""


@dataclass(frozen=True)
class ObjectMessage:
    ref: ObjectRef
    destination: Destination
    size: tuple[int, int] | None = None
    event_id: str = ""
    source: str = "event"
    probe_bytes: int = 0  # bytes the size probe read (for logs and benchmarks; not sent)

    def encode(self) -> tuple[bytes, dict[str, str]]:
        body = {"v": VERSION, "object": self.ref.to_json(), "destination": self.destination.to_json(),
                "size": list(self.size) if self.size else None, "event_id": self.event_id,
                "source": self.source}
        # Pub/Sub takes attribute values up to 1024 bytes: a GCS name is at most that, in UTF-8.
        attributes = {"bucket": self.ref.bucket, "name": cut_utf8(self.ref.name, 1024),
                      "generation": str(self.ref.generation)}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), attributes

    @classmethod
    def decode(cls, data: bytes) -> "ObjectMessage":
        """The object message in `data`; MessageError for anything else (see `decode_message`),
        a deletion message included."""
        message = decode_message(data)
        if not isinstance(message, cls):
            raise MessageError("a deletion message, not an object to import")
        return message


@dataclass(frozen=True)
class DeletionMessage:
    """An object generation that left the landing bucket (`event`: deleted, or archived in a
    versioned bucket) while no generation of its name was live."""

    ref: ObjectRef
    event: str = "deleted"
    event_id: str = ""
    source: str = "event"

    def encode(self) -> tuple[bytes, dict[str, str]]:
        body = {"v": DELETION_VERSION, "kind": "delete", "object": self.ref.to_json(), "event": self.event,
                "event_id": self.event_id, "source": self.source}
        attributes = {"bucket": self.ref.bucket, "name": cut_utf8(self.ref.name, 1024),
                      "generation": str(self.ref.generation), "kind": "delete"}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), attributes


def decode_message(data: bytes) -> ObjectMessage | DeletionMessage:
    """The message in `data`. MessageError, saying what is wrong, for anything else: not JSON,
    not an object, an unknown version or kind, a field missing or of the wrong type or out of
    range. Nothing else escapes, whatever the bytes: one poison message must not end a flush."""
    try:
        body = json.loads(data)
    except (ValueError, TypeError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MessageError(f"not a JSON message: {type(exc).__name__}: {_short(str(exc))}") from None
    if not isinstance(body, dict):
        raise MessageError(f"expected a JSON object, got {type(body).__name__}")
    version = body.get("v")
    if isinstance(version, bool) or version not in (VERSION, DELETION_VERSION):
        raise MessageError(f"unknown message version {_short(repr(version))} "
                           f"(this flush reads {VERSION} and {DELETION_VERSION})")
    try:
        ref = _object(body.get("object"))
        event_id, source = _text(body.get("event_id", ""), "event_id"), _text(body.get("source", "event"), "source")
        if version == DELETION_VERSION:
            kind, event = body.get("kind"), body.get("event", "deleted")
            if kind != "delete":
                raise ValueError(f"kind: expected 'delete', not {_short(repr(kind))}")
            if event not in DELETION_EVENTS:
                raise ValueError(f"event: expected one of {', '.join(DELETION_EVENTS)}, not {_short(repr(event))}")
            return DeletionMessage(ref=ref, event=event, event_id=event_id, source=source)
        destination = _destination(body.get("destination"))
        size = _size(body.get("size"))
    except ValueError as exc:
        raise MessageError(str(exc)) from None
    return ObjectMessage(ref=ref, destination=destination, size=size, event_id=event_id, source=source)


def _object(value) -> ObjectRef:
    if not isinstance(value, dict):
        raise ValueError(f"object: expected a JSON object, got {type(value).__name__}")
    missing = [k for k in ("bucket", "name", "generation") if k not in value]
    if missing:
        raise ValueError(f"object: {', '.join(missing)} missing")
    try:
        return ObjectRef.from_json(value).checked()
    except ValueError as exc:
        raise ValueError(f"object: {exc}") from None


def _destination(value) -> Destination:
    if not isinstance(value, dict):
        raise ValueError(f"destination: expected a JSON object, got {type(value).__name__}")
    project, storage = value.get("project"), value.get("storage")
    batches, priority = value.get("batches") or [], value.get("priority", 0)
    if not isinstance(project, str) or not project:
        raise ValueError(f"destination: project must be a non-empty string, not {_short(repr(project))}")
    if storage is not None and (not isinstance(storage, str) or not storage):
        raise ValueError(f"destination: storage must be a non-empty string or null, not {_short(repr(storage))}")
    if not isinstance(batches, list) or not all(isinstance(b, str) and b for b in batches):
        raise ValueError(f"destination: batches must be a list of batch names, not {_short(repr(batches))}")
    if isinstance(priority, bool) or not isinstance(priority, int) or not -1000 <= priority <= 1000:
        raise ValueError(f"destination: priority must be a whole number from -1000 to 1000, not {_short(repr(priority))}")
    templates = value.get("templates") or {}
    if not isinstance(templates, dict) or not all(isinstance(t, str) and n in batches for n, t in templates.items()):
        raise ValueError(f"destination: templates must map its batch names to templates, not {_short(repr(templates))}")
    for text in (project, storage or "", *batches, *templates.values()):
        _text(text, "destination")
    return Destination(project=project, storage=storage, batches=tuple(batches), priority=priority,
                       templates=tuple(templates.items()))


def _size(value) -> tuple[int, int] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in value)):
        raise ValueError(f"size: expected [width, height] in whole numbers or null, not {_short(repr(value))}")
    return value[0], value[1]


def _text(value, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what}: expected a string, not {_short(repr(value))}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what}: not valid Unicode text (a lone surrogate)") from None
    return value


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def publish(topic_path: str, message: ObjectMessage | DeletionMessage):
    """Publish and return a future (call `wait`); batching lets many publishes share one request."""
    data, attributes = message.encode()
    return publisher_client().publish(topic_path, data, **attributes)


def wait(future, timeout: float | None = None) -> str:
    """The message id once Pub/Sub has confirmed it (within PUBLISH_TIMEOUT_S); PublishError otherwise."""
    try:
        return future.result(timeout=timeout or PUBLISH_TIMEOUT_S)
    except Exception as exc:  # the client raises api_core errors and TimeoutError alike
        raise PublishError(f"Pub/Sub did not confirm the message: {type(exc).__name__}: {exc}") from exc
