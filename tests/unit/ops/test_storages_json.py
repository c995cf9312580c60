"""`storages --json` holds to docs/json/storages.md: a list of integrations, the Hub's values as
strings or null whatever type the Hub answered (its answer is not ours to trust). (No network.)"""
from __future__ import annotations

import json

import pytest

from hub_import.ops import cli
from hub_import.ops.storages import listing
from tests.unit.ops.test_json_schemas import holds

ROWS = [{"_id": "st1", "name": "landing", "type": "gcs", "bucket": "Landing", "createdAt": "2026-01-01"},
        {"_id": "st2", "name": 42, "provider": "s3", "bucket": None},  # a number for a name, no type
        {"_id": 7, "bucket": {"odd": 1}},  # a number for an id, an object for a bucket
        {"name": ""}]  # no id at all


class Hub:
    def storages(self, deadline=None):
        return ROWS


def test_storages_json_holds_to_its_schema_whatever_the_hub_answers():
    rows = listing(Hub(), "landing")
    holds(rows, "storages.md")
    assert [r["landing"] for r in rows] == [True, False, False, False]
    assert rows[1]["name"] == "42" and rows[1]["type"] == "s3" and rows[1]["bucket"] is None
    assert rows[2]["_id"] == "7" and rows[3]["_id"] == "" and rows[3]["name"] is None
    holds(listing(Hub(), ""), "storages.md")  # LANDING_BUCKET unset: landing is false, not ""
    assert not any(r["landing"] for r in listing(Hub(), "")) and listing(Hub(), "")[0]["landing"] is False
    holds([], "storages.md")


def test_storages_json_as_the_command_prints_it(env, monkeypatch, capsys):
    import hub_import.flush.run as run

    monkeypatch.setattr(run, "hub_client", lambda settings: Hub())
    assert cli.main(["storages", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    holds(printed, "storages.md")
    assert [r["_id"] for r in printed] == ["st1", "st2", "7", ""]


def test_the_schema_test_fails_on_an_undocumented_or_mistyped_field():
    rows = listing(Hub(), "landing")
    with pytest.raises(AssertionError, match="not documented"):
        holds([{**rows[0], "createdAt": "2026-01-01"}], "storages.md")
    with pytest.raises(AssertionError, match="is not string or null"):
        holds([{**rows[0], "name": 42}], "storages.md")
    with pytest.raises(AssertionError, match="documented but missing"):
        holds([{k: v for k, v in rows[0].items() if k != "landing"}], "storages.md")
