"""The globs the README documents do what it says they do: its table of examples is read from the
README itself, so the page cannot drift from `core/routes.py`; the examples in the settings table,
in terraform/main.tf and in the module's variable descriptions are among them."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub_import.core.decisions import decide
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import glob_matches
from hub_import.core.settings import load

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text()
SECTION = README[README.index("### Globs: which names"):]
SECTION = SECTION[:SECTION.index("\n#")]
ROW = re.compile(r"^\| `([^`]+)` \| (.+?) \| (.+?) \|$", re.M)
BASE = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing",
        "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st"}


def documented() -> dict[str, tuple[list[str], list[str]]]:
    """glob -> (the names the README says it matches, those it says it does not)."""
    names = lambda cell: re.findall(r"`([^`]+)`", cell)  # noqa: E731
    return {glob: (names(yes), names(no)) for glob, yes, no in ROW.findall(SECTION)}


def cases():
    return [pytest.param(glob, name, expected, id=f"{glob} {'~' if expected else '!~'} {name}")
            for glob, (yes, no) in documented().items()
            for name, expected in [*((n, True) for n in yes), *((n, False) for n in no)]]


def test_the_readme_documents_enough_examples_and_states_the_rule():
    assert len(documented()) >= 8
    assert all(yes and no for yes, no in documented().values()), "each example says what it matches and what not"
    for rule in ("`*` matches any characters within one folder", "`**` any characters at any depth", "`?`"):
        assert rule in " ".join(SECTION.split()), rule


@pytest.mark.parametrize("glob,name,expected", cases())
def test_each_documented_example_behaves_as_stated(glob, name, expected):
    assert glob_matches(glob, name) is expected


def _excluded(globs: str, name: str) -> bool:
    ref = ObjectRef(bucket="landing", name=name, generation=1, size=10, content_type="image/jpeg")
    decision = decide(ref, load({**BASE, "EXCLUDE_GLOBS": globs}))
    return decision.destination is None and "EXCLUDE_GLOBS" in decision.reason


def test_the_settings_tables_exclude_example_is_documented_and_works_at_any_depth():
    [row] = [line for line in README.splitlines() if line.startswith("| `EXCLUDE_GLOBS` |")]
    [example] = re.findall(r"e\.g\. `([^`]+)`", row)
    globs = example.split(",")
    assert set(globs) <= set(documented())
    assert _excluded(example, "cams/tmp/a.jpg") and _excluded(example, "cams/night/a.jpg.part")
    assert not _excluded(example, "cams/a.jpg")


def test_the_terraform_examples_are_documented_globs():
    main = (ROOT / "terraform" / "main.tf").read_text()
    [listed] = re.findall(r"^\s*exclude_globs\s*=\s*\[(.*?)\]", main, re.M)
    in_main = re.findall(r'"([^"]+)"', listed)
    settings_tf = (ROOT / "terraform" / "modules" / "hub-import" / "settings.tf").read_text()
    described = re.findall(r'^variable "(?:include|exclude)_globs" \{.*?^\}', settings_tf, re.M | re.S)
    in_descriptions = re.findall(r'\\"([^"\\]+)\\"', "".join(described))
    assert in_main and len(described) == 2 and len(in_descriptions) >= 4
    examples = set(in_main) | set(in_descriptions)
    assert examples <= set(documented()), examples - set(documented())
