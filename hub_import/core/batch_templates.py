"""Batch names that say where and when: templates over the object, filled in at ingest.

A batch name in HUB_BATCHES or a route's `batches` may hold fields in braces:

    {dir}        the object's folder, e.g. `cams/cam7/2024` for `cams/cam7/2024/img.jpg`
    {top}        its first folder, e.g. `cams`
    {date}       the day it was uploaded, YYYY-MM-DD in UTC (from its timeCreated)
    {meta.KEY}   the value of its custom metadata KEY (x-goog-meta-KEY)

`{{` and `}}` stand for a brace itself; a name without fields is a plain name. `check_template`
refuses an unknown field at config load; `fill` gives an object's concrete names, or ValueError
saying why the object cannot have them (a field it lacks, a name that cannot be a batch name),
which the routing turns into a skip with that reason.
"""
from __future__ import annotations

import string
import unicodedata
from datetime import datetime, timezone
from functools import lru_cache

from .objects import ObjectRef
from .text import look_alike

FIELDS = ("dir", "top", "date")
META = "meta."
# Our choice: the Hub documents no limit on a batch name; a longer one is surely a runaway field.
MAX_BATCH_NAME_CHARS = 200


@lru_cache(maxsize=256)
def _parts(template: str) -> tuple[tuple[str, str | None], ...]:
    """(literal text, field or None) pairs; ValueError for a malformed template or unknown field."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"batch template {template!r}: {exc} (write {{{{ or }}}} for a brace itself)") from None
    parts = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (spec or conversion or not _known(name)):
            raise ValueError(f"batch template {template!r}: unknown field {{{name}{'!' + conversion if conversion else ''}"
                             f"{':' + spec if spec else ''}}}; use {{dir}}, {{top}}, {{date}} or {{meta.KEY}}")
        parts.append((literal, name))
    return tuple(parts)


def _known(name: str) -> bool:
    return name in FIELDS or (name.startswith(META) and len(name) > len(META))


def check_template(template: str) -> str:
    """`template` if it is a plain batch name or a well-formed template; ValueError saying why not."""
    _parts(template)
    if not is_template(template):
        check_batch_name(template.replace("{{", "{").replace("}}", "}"), f"batch name {template!r}")
    return template


def is_template(template: str) -> bool:
    return any(name is not None for _, name in _parts(template))


def check_batch_name(name: str, what: str) -> str:
    """`name` if the Hub can take it as a batch name (some visible text, at most
    MAX_BATCH_NAME_CHARS characters, no control characters, nothing that makes it look like another
    name: no bidi override or zero-width character); ValueError naming `what` otherwise."""
    if not name.strip():
        raise ValueError(f"{what} is empty")
    if len(name) > MAX_BATCH_NAME_CHARS:
        raise ValueError(f"{what} is longer than {MAX_BATCH_NAME_CHARS} characters")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise ValueError(f"{what} holds a control character")
    hidden = look_alike(name)
    if hidden:
        raise ValueError(f"{what} holds {hidden}, which would make it look like another name")
    return name


def fill(batches: tuple[str, ...], ref: ObjectRef) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The object's batch names (templates filled in, duplicates dropped, order kept) and, for each
    name a template made, (name, template). ValueError saying why when a template cannot be filled."""
    names: list[str] = []
    made: list[tuple[str, str]] = []
    for template in batches:
        if not is_template(template):
            name = template.replace("{{", "{").replace("}}", "}")
        else:
            name = "".join(literal + (_value(field, ref, template) if field else "")
                           for literal, field in _parts(template))
            check_batch_name(name, f"batch template {template!r} gives a name that")
            made.append((name, template))
        if name not in names:
            names.append(name)
    return tuple(names), tuple(dict(made).items())


def _value(field: str, ref: ObjectRef, template: str) -> str:
    folder = ref.name.rpartition("/")[0]
    if field == "dir" or field == "top":
        if not folder:
            raise ValueError(f"batch template {template!r}: {{{field}}} is empty (the object is not in a folder)")
        return folder if field == "dir" else folder.split("/", 1)[0]
    if field == "date":
        day = upload_date(ref.time_created)
        if day is None:
            raise ValueError(f"batch template {template!r}: {{date}} is unknown (the object has no upload time)")
        return day
    key = field[len(META):]
    value = ref.metadata.get(key, "")
    if not value.strip():
        raise ValueError(f"batch template {template!r}: the object has no metadata {key!r} (x-goog-meta-{key})")
    return value


def upload_date(time_created: str) -> str | None:
    """YYYY-MM-DD in UTC of a GCS timeCreated (RFC 3339), or None when it is missing or malformed,
    or has no day in UTC (`9999-12-31T23:59:59-23:59`: a message may carry any text here)."""
    if not time_created:
        return None
    try:
        when = datetime.fromisoformat(time_created.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when.astimezone(timezone.utc).strftime("%Y-%m-%d")
    except (ValueError, OverflowError):
        return None
