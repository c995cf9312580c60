"""The messages between ingest and flush: one per eligible object, a versioned JSON body.

Body (version 1): {"v": 1, "object": ObjectRef, "destination": Destination, "size": [w, h] or
null, "event_id": str, "source": "event" | "backfill"}. Attributes: bucket, name, generation,
so that a message can be found and filtered without decoding it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .clients import publisher_client
from .objects import ObjectRef
from .routes import Destination

VERSION = 1
PUBLISH_TIMEOUT_S = 30.0


class PublishError(Exception):
    """Pub/Sub did not confirm a message in time; the caller should fail so the event is retried."""


class MessageError(ValueError):
    """A message body that is not a version-1 object message (a poison message)."""


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
        attributes = {"bucket": self.ref.bucket, "name": self.ref.name[:1024],
                      "generation": str(self.ref.generation)}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), attributes

    @classmethod
    def decode(cls, data: bytes) -> "ObjectMessage":
        try:
            body = json.loads(data)
            if not isinstance(body, dict) or body.get("v") != VERSION:
                raise MessageError(f"unknown message version {body.get('v') if isinstance(body, dict) else None!r}")
            size = body.get("size")
            return cls(ref=ObjectRef.from_json(body["object"]),
                       destination=Destination.from_json(body["destination"]),
                       size=(int(size[0]), int(size[1])) if size else None,
                       event_id=str(body.get("event_id", "")), source=str(body.get("source", "event")))
        except MessageError:
            raise
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise MessageError(f"undecodable message: {type(exc).__name__}: {exc}") from None


def publish(topic_path: str, message: ObjectMessage):
    """Publish and return a future (call `wait`); batching lets many publishes share one request."""
    data, attributes = message.encode()
    return publisher_client().publish(topic_path, data, **attributes)


def wait(future, timeout: float | None = None) -> str:
    """The message id once Pub/Sub has confirmed it (within PUBLISH_TIMEOUT_S); PublishError otherwise."""
    try:
        return future.result(timeout=timeout or PUBLISH_TIMEOUT_S)
    except Exception as exc:  # the client raises api_core errors and TimeoutError alike
        raise PublishError(f"Pub/Sub did not confirm the message: {type(exc).__name__}: {exc}") from exc
