"""Whether an object goes to the Hub, and where: the filters first (with the reason an object is
skipped), then the routes in order (routes.py), then the object's own metadata and batch templates.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .batch_templates import fill
from .metadata import overrides
from .objects import ObjectRef
from .routes import Destination, glob_matches
from .settings import Settings


@dataclass(frozen=True)
class Decision:
    """Either a destination, or the reason the object is skipped."""

    destination: Destination | None
    reason: str = ""


def decide(ref: ObjectRef, settings: Settings, *, resolve: bool = True, content: bool = True) -> Decision:
    """Apply the filters, then the routes, to one object. First failing filter wins.

    `content=False` asks only the rules on the name (folders, state, globs, extensions, routes):
    what a generation holds (empty, its size, its content type) judges what goes into the Hub,
    never whether an asset already made for the name leaves it (a deletion, deleter.py).

    `resolve=False` stops at the route: no metadata overrides, no batch templates filled in. The
    flush asks that way of a queued message, whose destination ingest already resolved (a message
    queued before a template was added carries no metadata to fill it with, and must not be dropped)."""
    name = ref.name
    if name.endswith("/"):
        return Decision(None, "folder placeholder")
    if ref.bucket == settings.state_bucket and (
            ref.bucket != settings.landing_bucket or name.startswith((settings.manifest_prefix, settings.ledger_prefix))):
        return Decision(None, "the product's own state (manifests and ledger)")
    for glob in settings.exclude_globs:
        if glob_matches(glob, name):
            return Decision(None, f"excluded by EXCLUDE_GLOBS {glob!r}")
    if settings.include_globs and not any(glob_matches(g, name) for g in settings.include_globs):
        return Decision(None, "not matched by INCLUDE_GLOBS")
    if content and ref.size == 0 and settings.skip_empty:
        return Decision(None, "empty object")
    if content and settings.max_object_bytes and ref.size > settings.max_object_bytes:
        return Decision(None, f"larger than MAX_OBJECT_BYTES ({ref.size} > {settings.max_object_bytes})")
    if not type_allowed(name, ref.content_type if content else None, settings):
        return Decision(None, f"type not allowed (extension {extension(name)!r}, "
                              f"content type {ref.content_type!r})")
    for route in settings.routes:
        if route.matches(name):
            return _for_object(route.destination, ref, settings) if resolve else Decision(route.destination)
    if settings.default is None:
        return Decision(None, "no route matches and HUB_PROJECT_ID is empty")
    return _for_object(settings.default, ref, settings) if resolve else Decision(settings.default)


def _for_object(dest: Destination, ref: ObjectRef, settings: Settings) -> Decision:
    """The route's destination made this object's own: its metadata's reserved keys override the
    route (when HUB_METADATA_OVERRIDES allows), then batch templates are filled in. A key or a
    template that cannot work skips the object with the reason."""
    try:
        fields = overrides(ref.metadata) if settings.metadata_overrides and ref.metadata else {}
        if "batches" not in fields and dest.batches:
            fields["batches"], fields["templates"] = fill(dest.batches, ref)
    except ValueError as exc:
        return Decision(None, str(exc))
    return Decision(replace(dest, **fields) if fields else dest)


def extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def type_allowed(name: str, content_type: str | None, settings: Settings) -> bool:
    """A name with an extension is judged by it (when ALLOWED_EXTENSIONS is set): uploaders set
    content types carelessly (text/plain, application/octet-stream). A name without one is
    judged by its content type (None: by its name alone, any content type goes). Both lists
    empty: anything goes."""
    ext = extension(name)
    if ext and settings.allowed_extensions:
        return ext in settings.allowed_extensions
    if content_type is None and settings.allowed_content_types:
        return True
    if not settings.allowed_content_types:
        return not settings.allowed_extensions
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return any(kind == allowed or (allowed.endswith("/*") and kind.startswith(allowed[:-1]))
               for allowed in settings.allowed_content_types)
