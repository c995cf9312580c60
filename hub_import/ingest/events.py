"""Eventarc's CloudEvents for Cloud Storage, turned into object references.

`object_from_event` takes a CloudEvent (the `cloudevents` object functions-framework hands
over, binary or structured mode alike) and returns the object it announces (finalized, or with
`kinds=GONE` deleted or archived), or raises:
- `IgnoredEventError` for an event of another type (logged, acknowledged);
- `StaleEventError` for one older than the maximum age (dropped with a warning, so that a
  poison event does not retry for days);
- `MalformedEventError` for data that is not an object resource (logged as an error and
  acknowledged: retrying cannot fix it).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from hub_import.core.objects import ObjectRef
from hub_import.core import clock

FINALIZED = "google.cloud.storage.object.v1.finalized"
DELETED = "google.cloud.storage.object.v1.deleted"
ARCHIVED = "google.cloud.storage.object.v1.archived"  # a versioned bucket keeps it as a noncurrent version
GONE = (DELETED, ARCHIVED)


class EventError(Exception):
    """An event that is acknowledged without being imported."""


class IgnoredEventError(EventError):
    """Not an object-finalized event."""


class StaleEventError(EventError):
    """Older than MAX_EVENT_AGE_SECONDS."""


class MalformedEventError(EventError):
    """Its data is not a Cloud Storage object resource."""


def object_from_event(event, max_age_s: float, now: datetime | None = None,
                      kinds: tuple[str, ...] = (FINALIZED,)) -> ObjectRef:
    """The object an event of one of `kinds` announces. See the module docstring for the errors."""
    kind = _attr(event, "type")
    if kind not in kinds:
        raise IgnoredEventError(f"event type {kind!r} is not {' or '.join(kinds)}")
    data = event.data
    if isinstance(data, (bytes, bytearray)):
        try:
            data = json.loads(data)
        except ValueError:
            raise MalformedEventError("event data is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedEventError(f"event data is {type(data).__name__}, not an object resource")
    try:
        ref = ObjectRef.from_resource(data)
    except KeyError as exc:
        raise MalformedEventError(f"event data lacks {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise MalformedEventError(f"event data is malformed: {exc}") from None
    # A deleted object's timeCreated says when it was made, not when it went: only the event's time will do.
    stamp = _attr(event, "time") or (ref.time_created if kind == FINALIZED else None)
    age = _age_s(stamp, now or clock.utcnow())
    if age is not None and age > max_age_s:
        raise StaleEventError(f"event is {age:.0f} s old, more than MAX_EVENT_AGE_SECONDS={max_age_s:g}")
    return ref


def event_type(event) -> str:
    return str(_attr(event, "type") or "")


def event_id(event) -> str:
    return str(_attr(event, "id") or "")


def _attr(event, name: str):
    try:
        return event[name]
    except (KeyError, TypeError):
        return getattr(event, name, None)


def _age_s(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (now - when).total_seconds()
