"""`trace` of a file deleted before it was imported, under ON_OVERWRITE=import. The ledger keeps
one record per generation there (bucket/name#generation), and the deletion of a generation no
manifest carried is recorded under that generation's key (deleter.py `_tombstone`). Once the file
is gone from the bucket, trace has no generation to look under: it said "not seen yet: nothing of
it reached the product". The ledger keeps a name-level index of the generations it recorded
(state/name_index.py) that trace reads when the object is not live (regression trace-generation-42
in the simulation). No network: the state bucket is a dict, the landing bucket empty."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from hub_import.core.objects import ObjectRef
from hub_import.core.settings import load
from hub_import.ops import trace as trace_module
from hub_import.state.ledger import Ledger
from tests.unit.flush.test_flush_in_memory import ENV
from tests.unit.flush.test_result_messages import DictStore

REF = ObjectRef("landing", "cams/c.png", 1764000000000007, size=200)


class GoneBucket:
    """A landing bucket that holds nothing (the file left it)."""

    def bucket(self, name):
        return SimpleNamespace(get_blob=lambda _name: None)


@pytest.fixture
def no_dead_letters(monkeypatch):
    monkeypatch.setattr(trace_module, "_dead_letters", lambda *a: [])


class EmptyHub:
    """A Hub that holds no asset."""

    def list_assets(self, project, page=1, filters=None, deadline=None):
        return [], 0


def traced(env: dict, store) -> trace_module.Trace:
    return trace_module.trace(load(env), REF.uri, storage=GoneBucket(), store=store, subscriber=None, hub=EmptyHub())


def test_a_generation_deleted_before_its_import_is_traced_as_deleted(no_dead_letters):
    # GIVEN ON_OVERWRITE=import, and a file that left the bucket before any manifest carried it:
    # its deletion recorded (a tombstone) under its generation's key, as the deleter does
    env = {**ENV, "ON_OVERWRITE": "import", "EXTERNAL_ID_TEMPLATE": "{name}#{generation}"}
    store = DictStore()
    ledger = Ledger(store, load(env).ledger_prefix, True)
    assert ledger.mark_deleted(REF, 0, {}, "f1", note="never in the Hub", at=1764000000.0)
    # WHEN it is traced (the object gone, no manifest, no dead letter names it)
    t = traced(env, store)
    # THEN trace finds the generation's record and says it left before it was imported
    assert t.outcome == "deleted", t.verdict
    assert t.verdict.startswith("left the bucket before it was imported"), t.verdict
    assert [r["key"] for r in t.ledger] == [f"generation {REF.generation}"]
    # and the Hub was asked under that generation's externalId
    assert [a["externalId"] for a in t.hub["asked"]] == [f"{REF.name}#{REF.generation}"]


def test_a_file_never_seen_is_still_not_seen(no_dead_letters):
    env = {**ENV, "ON_OVERWRITE": "import", "EXTERNAL_ID_TEMPLATE": "{name}#{generation}"}
    t = traced(env, DictStore())
    assert t.outcome == "not_seen", t.verdict
