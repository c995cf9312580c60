"""Whether this deployment obeys a queue message: the one place that says so.

Anyone who may publish to the assets topic can write a message (Eventarc's GCS triggers need the
GCS service agent to hold pubsub.publisher on the project, and editors hold it too), so a message
is a request, not an order. The flush obeys an object message only when what it names is what
this deployment could have queued itself:
- its bucket is the landing bucket (LANDING_BUCKET);
- its destination is one the route that takes its name today (HUB_ROUTES' first match, else the
  HUB_* default route; never another route's) produces for it: the route's project, or the one
  its metadata `hub-project` names when HUB_METADATA_OVERRIDES allows; the route's storage
  integration (or, where the route names none, the one the flush found for the bucket); each
  batch a plain name of the route, a template of the route filled in for this object (and said
  so in `templates`, so that the cap on created batches counts it), or one its metadata
  `hub-batches` names when overrides are allowed; the route's priority (or its metadata
  `hub-priority`, overrides allowed); and every batch the route (or that metadata) gives the
  object, none left out. An object no route takes is left to the rules, which skip it.
A deletion message is obeyed only for an object of the landing bucket (what it may delete, the
deleter finds in our own ledger). `refusal` says why not, in words for the dead letter; the
ingest function asks `foreign_bucket` of each event.

A message queued under routes since removed (a project or storage no longer configured, a template
changed) is refused too: it is dead-lettered with the reason, never dropped.
"""
from __future__ import annotations

from .batch_templates import fill, is_template
from .messages import DeletionMessage, ObjectMessage
from .metadata import BATCHES_SOURCE, overrides
from .objects import ObjectRef
from .routes import Destination
from .settings import Settings


def foreign_bucket(bucket: str, settings: Settings) -> str | None:
    """Why `bucket` is not the landing bucket (None when it is)."""
    if not settings.landing_bucket:
        return f"bucket {bucket} is not the landing bucket: LANDING_BUCKET is not set, so none is"
    if bucket != settings.landing_bucket:
        return f"bucket {bucket} is not the landing bucket ({settings.landing_bucket})"
    return None


def refusal(message: ObjectMessage | DeletionMessage, settings: Settings,
            found_storage: str | None = None) -> str | None:
    """Why this deployment refuses `message` (None when it obeys it). `found_storage` is the
    integration the flush found for the landing bucket (HUB_STORAGE_ID empty), which a route that
    names none binds to. Nothing escapes: a message is a publisher's text, and whatever judging it
    raises refuses it (a dead letter), instead of ending the flush that pulled it."""
    try:
        return _refusal(message, settings, found_storage)
    except Exception as exc:  # noqa: BLE001 - one message must not end a flush
        return f"it could not be judged ({type(exc).__name__})"


def _refusal(message: ObjectMessage | DeletionMessage, settings: Settings, found_storage: str | None) -> str | None:
    bucket = foreign_bucket(message.ref.bucket, settings)
    if bucket or isinstance(message, DeletionMessage):
        return bucket
    dest, ref = message.destination, message.ref
    route = _route_of(ref.name, settings)
    if route is None:  # no route takes it: the flush skips it by its rules (nothing is imported)
        return None
    own = _own_overrides(ref, settings)
    if dest.project not in {route.project} | ({own["project"]} if "project" in own else set()):
        return f"project {dest.project!r} is not one this deployment's routes can produce"
    if dest.storage != (route.storage or found_storage):
        return f"storage {dest.storage!r} is not one this deployment's routes can produce"
    priority = own.get("priority", route.priority)
    if dest.priority != priority:  # (else any file could be put ahead of every labeler's queue)
        return f"priority {dest.priority} is not the one its route gives ({priority})"
    if len(set(dest.batches)) != len(dest.batches):
        return f"batches {list(dest.batches)} name one batch twice"
    made = dict(dest.templates)
    for name in dest.batches:
        if not _batch_made(name, made.get(name), route, ref, own):
            return f"batch {name!r} is not one this deployment's routes can produce for {ref.uri}"
    left_out = [b for b in _batches_due(route, ref, own) if b not in dest.batches]
    if left_out:  # (else a file could be kept out of the batches a team works through)
        return f"batches {left_out} of its route are left out"
    return None


def _batches_due(route: Destination, ref: ObjectRef, own: dict) -> tuple[str, ...]:
    """Every batch ingest gives the object today (core/decisions.py _for_object): its metadata's
    `hub-batches` when overrides allow, else the route's, templates filled in."""
    if "batches" in own:
        return tuple(own["batches"])
    return fill(route.batches, ref)[0] if route.batches else ()


def _route_of(name: str, settings: Settings) -> Destination | None:
    """The destination of the route that takes an object named `name`, as ingest chose it
    (core/decisions.py: the first route that matches, else the default route); None when none does.
    Only that route's destination is obeyed: another route's would move the object to a project
    its prefix is kept out of."""
    for route in settings.routes:
        if route.matches(name):
            return route.destination
    return settings.default


def _own_overrides(ref: ObjectRef, settings: Settings) -> dict:
    """What the object's metadata may override (nothing when overrides are off or it is malformed:
    ingest would have skipped such an object)."""
    if not settings.metadata_overrides or not ref.metadata:
        return {}
    try:
        return overrides(ref.metadata)
    except ValueError:
        return {}


def _batch_made(name: str, template: str | None, route: Destination, ref: ObjectRef, own: dict) -> bool:
    """Whether `route` (or the object's own hub-batches) makes batch `name` for `ref`, from
    `template` (None: a plain name)."""
    if template == BATCHES_SOURCE:
        return name in own.get("batches", ())
    if template is None:
        return name in {b.replace("{{", "{").replace("}}", "}") for b in route.batches if not is_template(b)}
    if template not in route.batches:
        return False
    try:
        names, _ = fill((template,), ref)
    except ValueError:
        return False
    return names == (name,)

