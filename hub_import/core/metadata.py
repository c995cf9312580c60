"""What an object's custom metadata (x-goog-meta-*) does: the asset's contextData, and, when
allowed, a route of its own for that one object.

- `context_data` picks the keys HUB_CONTEXT_KEYS names (`*`: all) for the asset's
  `contextData`, leaving out a value over MAX_CONTEXT_VALUE_BYTES, a key or value holding a bidi
  override or a zero-width character (labelers would read it as other text), and whatever would
  take the whole past CONTEXT_MAX_BYTES, each with the reason.
- `overrides` reads the reserved keys (hub-project, hub-batches, hub-priority), checked as a
  route is; ValueError saying which key is wrong and why. They never go into contextData.
"""
from __future__ import annotations

import re

from .batch_templates import check_batch_name
from .text import look_alike

PROJECT, BATCHES, PRIORITY = "hub-project", "hub-batches", "hub-priority"
RESERVED = (PROJECT, BATCHES, PRIORITY)
ALL = "*"
# Our choice: the Hub documents no limit on contextData. Labelers read it beside the asset, and
# every asset's copy lives in its manifest, so it stays short. (GCS allows 8 KiB of custom
# metadata on an object in all, so this only matters with `*` or many keys.)
CONTEXT_MAX_BYTES = 4096
# Where the template cap counts names that objects' hub-batches created.
BATCHES_SOURCE = f"metadata {BATCHES}"
# A project id goes into the Hub's URL paths: from metadata (anyone who uploads sets it) only
# the characters of ids (the Hub's are 24 hex digits) pass.
_PROJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def context_data(metadata: dict[str, str], keys: tuple[str, ...],
                 max_value_bytes: int) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The asset's contextData from the object's `metadata`: the `keys` it has (all but the
    reserved ones for `*`), in the order given (sorted for `*`). And (key, reason) for each value
    left out, for its size or for a character that hides what it says; the object is imported all
    the same."""
    wanted = sorted(metadata) if ALL in keys else [k for k in dict.fromkeys(keys) if k in metadata]
    chosen: dict[str, str] = {}
    left_out: list[tuple[str, str]] = []
    total = 0
    for key in wanted:
        if key in RESERVED:
            continue
        value = metadata[key]
        hidden = look_alike(key) or look_alike(value)
        if hidden:
            left_out.append((key, f"its {'key' if look_alike(key) else 'value'} holds {hidden}, which would make it "
                                  f"read as other text"))
            continue
        size = len(value.encode("utf-8"))
        if size > max_value_bytes:
            left_out.append((key, f"its value is {size} bytes, more than MAX_CONTEXT_VALUE_BYTES={max_value_bytes}"))
            continue
        size += len(key.encode("utf-8"))
        if total + size > CONTEXT_MAX_BYTES:
            left_out.append((key, f"contextData would pass {CONTEXT_MAX_BYTES} bytes with it"))
            continue
        chosen[key] = value
        total += size
    return chosen, left_out


def overrides(metadata: dict[str, str]) -> dict:
    """The route fields the object's reserved keys set: project, batches (with `templates`, for
    the cap on batches created), priority; only those present. ValueError naming the bad one."""
    found: dict = {}
    if PROJECT in metadata:
        project = metadata[PROJECT].strip()
        if not _PROJECT_ID.fullmatch(project):
            raise ValueError(f"metadata {PROJECT} {_shown(project)} is not a project id (letters, digits, - or _)")
        found["project"] = project
    if BATCHES in metadata:
        names = [n.strip() for n in metadata[BATCHES].split(",")]
        for name in names:
            check_batch_name(name, f"a batch name in metadata {BATCHES} {_shown(metadata[BATCHES])}")
        found["batches"] = tuple(dict.fromkeys(names))
        found["templates"] = tuple((n, BATCHES_SOURCE) for n in found["batches"])
    if PRIORITY in metadata:
        text = metadata[PRIORITY].strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,4}", text) or not -1000 <= int(text) <= 1000:
            raise ValueError(f"metadata {PRIORITY} {_shown(text)} is not a whole number from -1000 to 1000")
        found["priority"] = int(text)
    return found


def _shown(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")
