"""What the sweep (ingest/sweep.py) lists, and what it takes for known: the listing prefixes some
route can take, the fingerprint of what a pass judges, an object's timeCreated, and whether a
ledger record accounts for an object."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from hub_import.core.objects import ObjectRef
from hub_import.core.settings import Settings
from hub_import.state.ledger import DELETED, DELETING

WILDCARDS = "*?["


def literal_head(glob: str) -> str:
    """The part of `glob` before its first wildcard: every name it matches starts with it."""
    cut = min((glob.index(c) for c in WILDCARDS if c in glob), default=len(glob))
    return glob[:cut]


def listing_prefixes(settings: Settings) -> list[str]:
    """The prefixes to list: every name some route can take starts with one of them, and none is
    inside another ([""], the whole bucket, when the default route takes everything). INCLUDE_GLOBS,
    when set, narrow them. (A glob route is listed by its literal head, and the rules judge each
    name: GCS's matchGlob reads `**` and `[!...]` otherwise than the routes do, and would save
    listing rows only, not reads.)"""
    heads = [""] if settings.default is not None else [
        r.prefix if r.prefix is not None else literal_head(r.glob or "") for r in settings.routes]
    if settings.include_globs:
        narrowed = []
        for head in heads:
            for include in map(literal_head, settings.include_globs):
                if head.startswith(include) or include.startswith(head):
                    narrowed.append(max(head, include, key=len))
        heads = narrowed
    kept: list[str] = []
    for head in sorted(set(heads)):
        if not any(head.startswith(k) for k in kept):
            kept.append(head)
    return kept


def scope_of(settings: Settings, prefixes: list[str]) -> str:
    """A fingerprint of what a pass judges: a pass under way goes on only under the same one."""
    what = [settings.landing_bucket, prefixes, sorted(settings.include_globs), sorted(settings.exclude_globs),
            sorted(settings.allowed_extensions), list(settings.allowed_content_types), settings.skip_empty,
            settings.max_object_bytes, settings.each_generation, settings.ledger_prefix]
    return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:16]


def created_at(ref: ObjectRef) -> float | None:
    """The object's timeCreated (GCS's clock), epoch seconds; None when it has none or it cannot be read."""
    if not ref.time_created:
        return None
    try:
        when = datetime.fromisoformat(ref.time_created.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def known(doc, ref: ObjectRef) -> bool:
    """Whether a ledger record accounts for the object: any record, but one of a deletion of an
    older generation, done or under way (the name uploaded again: the flush claims it anew, once
    a deletion under way is recorded; "known" would be final, the watermark passing it: found by
    red team 6 and by the simulation, seed 2228)."""
    if doc is None:
        return False
    body = doc.body if isinstance(doc.body, dict) else {}
    return not (body.get("state") in (DELETED, DELETING) and _whole(body.get("deleted_generation")) < ref.generation)


def _whole(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0
