"""The Hub stand-in's switch table is its one account of its switches: every switch is in it once,
with its real default, and docs/local-stack.md shows the same table."""
from __future__ import annotations

import re
from pathlib import Path

from deploy.local import hub_standin
from deploy.local.hub_standin_faults import CHOICES, FAULT_DEFAULTS, check_switches

ROOT = Path(__file__).resolve().parents[3]
TABLE = re.compile(r"^\| switch \|.*?(?=\n\n)", re.S | re.M)


def rows() -> list[list[str]]:
    table = TABLE.search(hub_standin.__doc__).group(0)
    return [[cell.strip() for cell in line.strip()[1:-1].split("|")] for line in table.splitlines()[2:]]


def shown_default(values: str) -> str:
    first = re.sub(r"^(fraction|integer|seconds|ms), ", "", values).split(", ")[0]
    return first.strip("`")


def as_shown(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if value != "" else '""'


def test_every_switch_is_in_the_table_once_with_its_default_in_its_group():
    group, seen = None, {}
    for name, values, _ in rows():
        if name.startswith("**"):
            group = name
            continue
        seen.setdefault(name.strip("`"), []).append((group, shown_default(values)))
    assert seen.keys() == FAULT_DEFAULTS.keys()
    guesses = list(FAULT_DEFAULTS)[list(FAULT_DEFAULTS).index("list_order"):]
    for name, found in seen.items():
        [(group, default)] = found
        assert default == as_shown(FAULT_DEFAULTS[name]), name
        assert ("guesses" in group) == (name in guesses), name


def test_every_choice_the_table_names_is_accepted():
    for name, values, _ in rows():
        name = name.strip("`")
        if name in CHOICES:
            shown = [v.strip("`") for v in values.split(", ")]
            assert shown == list(CHOICES[name]), name
            assert all(check_switches({name: v}) is None for v in shown)


def test_the_local_stack_doc_shows_the_same_table():
    doc = (ROOT / "docs" / "local-stack.md").read_text()
    assert TABLE.search(doc).group(0) == TABLE.search(hub_standin.__doc__).group(0)
