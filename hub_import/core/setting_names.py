"""Setting names that are almost a setting's: a misspelt setting is refused, never silently ignored.

`HUB_ROUTE=...` in the environment would leave HUB_ROUTES at its default, and every object would
go to the default project without a word. So a variable that is not a setting, under one of the
settings' own prefixes (the first word of a name in the table: HUB_, FLUSH_, MAX_, ...; not
GOOGLE_, which is Google's), and close to a setting's name (difflib, CUTOFF), is refused with
"did you mean ...". A name close to none is someone else's (HUB_IMPORT_CACHE, a test's knob) and
is left alone, as are the names the product's tools and libraries read (OTHERS).
"""
from __future__ import annotations

import difflib
from typing import Iterable, Mapping

from .settings_table import ENV

CUTOFF = 0.75  # HUB_ROUTE, HUB_PROJECT, HUB_URL, FLUSH_BUDGET are caught; HUB_SWITCH_FILES is not
# Variables under a settings' prefix that are not settings: read by the Google clients, the build
# (deploy/artifact.py) or the crash tests, or exported by the local stack (deploy/local/stack.py).
OTHERS = frozenset({"PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST", "HUB_IMPORT_CACHE", "FLUSH_CRASH_AT",
                    "RESULTS_SUBSCRIPTION", "DEAD_LETTER_SUBSCRIPTION"})
PREFIXES = frozenset(name.split("_", 1)[0] + "_" for name in ENV) - {"GOOGLE_"}


def closest(name: str, names: Iterable[str] = ENV) -> str | None:
    """The one of `names` closest to `name` (case ignored), if close enough to be a misspelling."""
    found = difflib.get_close_matches(name.strip().upper(), list(names), n=1, cutoff=CUTOFF)
    return found[0] if found else None


def misspelt(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, the setting it is close to) for each variable of `environ` that looks like a
    misspelt setting, sorted by name. Only names are read, never values."""
    found = []
    for name in environ:
        if name in ENV or name in OTHERS or not name.startswith(tuple(PREFIXES)):
            continue
        near = closest(name)
        if near:
            found.append((name, near))
    return sorted(found)
