"""`status --json` and `trace --json` hold to their documented schemas (docs/json/status.md,
docs/json/trace.md, read here as the test's own table): every key they print is documented,
every value has its documented type (numbers as numbers, times ISO 8601 UTC), every field that is
not optional is there. (No network: the fakes of test_health.)"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hub_import.core.assets import Asset
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.settings import load
from hub_import.ops import status as status_module
from hub_import.ops import trace as trace_module
from hub_import.ops.status import status
from hub_import.ops.trace_report import render
from hub_import.state.manifests import FAILED, ManifestStore
from hub_import.state.sweep_state import SweepRecord, SweepState
from tests.unit.flush.test_flush_in_memory import ENV
from tests.unit.ops.test_health import (FILES, SETTINGS, DownHub, Hub, Landing, ListingStore, NoDeadLetters,
                                        backlog_of, flushes)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "json"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
CHECKS = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "time": lambda v: isinstance(v, str) and ISO.fullmatch(v) is not None,
    "object": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def schema(doc: str, section: str | None = None) -> dict[str, tuple[list[str], bool]]:
    """{field: (its types, optional)} from the table of docs/json/<doc> (with `section`, only the
    tables under the heading `## <section>`, up to the next such heading)."""
    rows = {}
    inside = section is None
    for line in (DOCS / doc).read_text().splitlines():
        if section is not None and line.startswith("## "):
            inside = line[3:].strip() == section
        if not inside:
            continue
        m = re.match(r"\| `([^`]+)` \| ([a-z ]+) \| (.*)\|$", line)
        if m:
            rows[m[1]] = ([t.strip() for t in m[2].split(" or ")], "*optional*" in m[3])
    assert rows, f"no table in {doc}" + (f" under ## {section}" if section else "")
    return rows


def nodes(value, path=""):
    """(path, value) of every key and list item under `value` (list items as `path[]`)."""
    if isinstance(value, dict):
        for key, v in value.items():
            p = f"{path}.{key}" if path else key
            yield p, v, value
            yield from nodes(v, p)
    elif isinstance(value, list):
        for v in value:
            yield f"{path}[]", v, value
            yield from nodes(v, f"{path}[]")


def holds(output: dict | list, doc: str, section: str | None = None) -> None:
    rows = schema(doc, section)
    output = json.loads(json.dumps(output))  # as printed
    for path, value, _ in nodes(output):
        if path.endswith("[]") and path not in rows and isinstance(value, dict):
            continue  # an item of a list of objects: its fields are documented
        key = path if path in rows else re.sub(r"\.[^.\[\]]+$", ".*", path)
        assert key in rows, f"{doc}: {path} is printed but not documented"
        types, _ = rows[key]
        assert any(CHECKS[t](value) for t in types), f"{doc}: {path} = {value!r} is not {' or '.join(types)}"
    # every field that is not optional is there, wherever its parent object is
    for field, (_, optional) in rows.items():
        parent, _, key = field.rpartition(".")
        if optional or key == "*" or field.endswith("[]"):
            continue
        for p, v, _ in list(nodes(output)) + [("", output, None)]:
            if p == parent and isinstance(v, dict):
                assert key in v, f"{doc}: {field} is documented but missing"


@pytest.fixture
def store():
    """A state bucket after an outage, a recovery that imported FILES, a failed and a pending manifest."""
    s = ListingStore()
    flushes(s, DownHub(), 2, backlog=backlog_of(200))
    flushes(s, Hub(), 1, backlog=backlog_of(0))
    manifests = ManifestStore(s, SETTINGS.manifest_prefix)
    refs = [ObjectRef("landing", f"x/{n}.pdf", 1, size=10) for n in "ab"]
    assets = [Asset(external_id=r.name, data=f"https://storage.googleapis.com/landing/{r.name}") for r in refs]
    manifests.create(SETTINGS.manifest_prefix + "m1-failed.json", Destination("proj", "st"), assets[:1], refs[:1],
                     "f1", 30, state=FAILED, error="unknown storage")
    manifests.create(SETTINGS.manifest_prefix + "m2.json", Destination("proj", "st"), assets[1:], refs[1:], "f1", 30)
    return s


def test_status_json_holds_to_its_schema(store, monkeypatch):
    monkeypatch.setattr(status_module, "_peek_dead_letters",
                        lambda subscriber, settings: (2, False, [{"reason": "r", "count": 2, "example": "gs://l/a"}]))
    told = status(SETTINGS, store, NoDeadLetters()).to_json()
    holds(told, "status.md")
    assert told["dead_letter_backlog"] == 2 and told["oldest_pending"]["age_seconds"] >= 0
    assert told["health"]["record"]["at"].endswith("Z") and told["last_import"]["assets"] == 200
    assert told["sweep"] is None  # no sweep has run
    SweepState(store, SETTINGS.ledger_prefix).record(SweepRecord(listed=60, known=20, queued=40, complete=True))
    swept = status(SETTINGS, store, NoDeadLetters()).to_json()
    holds(swept, "status.md")
    assert swept["sweep"]["queued"] == 40 and swept["sweep"]["at"].endswith("Z")
    # and in an outage, with the dead letters unread, and HUB_STORAGE_ID left to the flush to find
    s = ListingStore()
    flushes(s, DownHub(), 1)
    monkeypatch.setattr(status_module, "_peek_dead_letters", lambda subscriber, settings: (None, False, []))
    discovering = load({**ENV, "HUB_STORAGE_ID": ""})
    holds(status(discovering, s, NoDeadLetters()).to_json(), "status.md")
    # and before any flush has run
    fresh = status(SETTINGS, ListingStore(), NoDeadLetters()).to_json()
    holds(fresh, "status.md")
    assert fresh["health"]["state"] == "no_record" and fresh["backlog"]["messages"] is None


def test_trace_json_holds_to_its_schema_and_says_sent_as_the_text_does(store, monkeypatch):
    class OneCopy:
        def list_assets(self, project, page=1, filters=None, deadline=None):
            return [{"_id": "as1", "externalId": filters["externalId"], "createdAt": "2026-12-02T18:00:01.000Z",
                     "data": f"https://storage.googleapis.com/landing/{FILES[7]}"}], 1

    monkeypatch.setattr(trace_module, "_dead_letters", lambda *a: [
        {"reason": "r", "message_id": "1", "generation": "1", "published": "2026-12-02T18:00:00+00:00", "ref": None}])
    t = trace_module.trace(SETTINGS, f"gs://landing/{FILES[7]}", storage=Landing(), store=store, subscriber=None,
                           hub=OneCopy())
    out = t.to_json()
    holds(out, "trace.md")
    assert [r["state"] for r in out["ledger"]] == ["sent"] and "per object: sent" in render(t)
    # a queued file, the Hub silent; and a file gone from the bucket
    s = ListingStore()
    flushes(s, DownHub(), 1)
    for uri in (f"gs://landing/{FILES[3]}", "gs://landing/gone.jpg"):
        holds(trace_module.trace(SETTINGS, uri, storage=Landing(), store=s, subscriber=None, hub=None).to_json(),
              "trace.md")
    holds(trace_module.trace(SETTINGS, f"gs://landing/{FILES[3]}", storage=Landing(), store=ListingStore(),
                             subscriber=None, hub=None).to_json(), "trace.md")
    # a file the sweep queued (its event lost)
    SweepState(s, SETTINGS.ledger_prefix).mark_found(ObjectRef("landing", FILES[3], 7))
    swept = trace_module.trace(SETTINGS, f"gs://landing/{FILES[3]}", storage=Landing(), store=s, subscriber=None,
                               hub=None).to_json()
    holds(swept, "trace.md")
    assert swept["swept"]["generation"] == 7 and swept["swept"]["at"].endswith("Z")
