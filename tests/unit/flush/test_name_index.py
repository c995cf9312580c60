"""The ledger's name-level index (state/name_index.py): under ON_OVERWRITE=import every generation
claimed or recorded deleted is listed under its name, so that `trace` finds its record once the
file is gone. It is written before the record it lists: an index write that fails fails the
claim or the deletion as a failed record write does (nothing written, tried again later), so no
record is ever unlisted; with records per name (ON_OVERWRITE other than import) it costs no GCS
call at all.
(No network: the state bucket is a dict.)"""
from __future__ import annotations

import pytest
from google.api_core import exceptions

from hub_import.core.objects import ObjectRef
from hub_import.state import name_index
from hub_import.state.ledger import Ledger
from hub_import.state.name_index import NameIndex
from hub_import.state.store import ConflictError
from tests.unit.flush.test_result_messages import DictStore

REF = ObjectRef("landing", "cams/a ü.jpg", 1764000000000001, size=10)


class Counting(DictStore):
    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def create(self, path, body):
        return self.write(path, body, 0)

    def read(self, path):
        self.calls.append(("read", path))
        return super().read(path)

    def write(self, path, body, if_generation_match=None):
        self.calls.append(("write", path))
        return super().write(path, body, if_generation_match)


class IndexDown(Counting):
    """Every read or write of the name index fails as GCS does when it is down (after its retries)."""

    def read(self, path):
        if "/names/" in path:
            raise exceptions.ServiceUnavailable("503 GCS unavailable")
        return super().read(path)

    def write(self, path, body, if_generation_match=None):
        if "/names/" in path:
            raise exceptions.ServiceUnavailable("503 GCS unavailable")
        return super().write(path, body, if_generation_match)


def test_each_generation_claimed_or_deleted_is_listed_under_its_name_newest_last():
    store = Counting()
    ledger = Ledger(store, "ledger/", True)
    newer = ObjectRef(REF.bucket, REF.name, REF.generation + 5)
    assert ledger.claim(newer, "m1", "f1", "a#2").won
    assert ledger.mark_deleted(REF, 0, {}, "f1", note="never in the Hub")
    assert NameIndex(store, "ledger/").generations(REF.bucket, REF.name) == [REF.generation, newer.generation]
    # the index lives beside the records, whose own paths are unchanged
    assert ledger.path(REF).startswith("ledger/") and "/names/" not in ledger.path(REF)


def test_records_per_name_cost_no_index_call():
    store = Counting()
    ledger = Ledger(store, "ledger/", False)
    claim = ledger.claim(REF, "m1", "f1", "a")
    ledger.mark_deleted(REF, claim.generation, ledger.read(REF).body, "f1")
    assert not [c for c in store.calls if "/names/" in c[1]]
    assert [kind for kind, _ in store.calls] == ["write", "read", "write"]  # claim, the read above, deletion


def test_a_failing_index_write_fails_the_claim_and_the_deletion_writing_no_record():
    store = IndexDown()
    ledger = Ledger(store, "ledger/", True)
    with pytest.raises(exceptions.GoogleAPICallError):
        ledger.claim(REF, "m1", "f1", "a")
    assert ledger.read(REF) is None, "no record its index does not list"
    good = Ledger(Counting(), "ledger/", True)
    claim = good.claim(REF, "m1", "f1", "a")
    down = Ledger(IndexDown(), "ledger/", True)
    down.store.docs = good.store.docs  # the same bucket, its index now failing
    with pytest.raises(exceptions.GoogleAPICallError):
        down.mark_deleted(ObjectRef(REF.bucket, REF.name, REF.generation + 1), claim.generation,
                          good.read(REF).body, "f1")
    assert good.read(REF).body["state"] == "claimed"


def test_a_generation_already_listed_costs_one_read_and_once_known_none():
    store = Counting()
    Ledger(store, "ledger/", True).claim(REF, "m1", "f1", "a")  # one flush claims it
    ledger = Ledger(store, "ledger/", True)  # another records its deletion
    store.calls.clear()
    ledger.mark_deleted(REF, ledger.read(REF).generation, ledger.read(REF).body, "f1", state="deleting")
    ledger.mark_deleted(REF, ledger.read(REF).generation, ledger.read(REF).body, "f1")
    index = [c for c in store.calls if "/names/" in c[1]]
    assert index == [("read", index[0][1])]


def test_the_index_is_bounded_to_the_last_generations():
    store = DictStore()
    index = NameIndex(store, "ledger/")
    for g in range(1, name_index.KEEP + 6):
        index.add("b", "n", g)
    assert index.generations("b", "n") == list(range(6, name_index.KEEP + 6))


def test_a_conflict_is_retried_then_fails_the_claim():
    class Racing(DictStore):
        """Another writer changes the index between each read and write, `times` times."""

        def __init__(self, times):
            super().__init__()
            self.times = times

        def write(self, path, body, if_generation_match=None):
            if "/names/" in path and self.times:
                self.times -= 1
                super().write(path, {"object": "gs://b/n", "generations": [99 + self.times]})
            return super().write(path, body, if_generation_match)

    store = Racing(2)
    NameIndex(store, "ledger/").add("b", "n", 1)
    assert NameIndex(store, "ledger/").generations("b", "n") == [1, 99]  # the last racer's and ours
    store = Racing(name_index.ATTEMPTS)
    with pytest.raises(exceptions.Aborted, match="changed under us"):
        Ledger(store, "ledger/", True).claim(ObjectRef("b", "n", 1), "m1", "f1", "a")
    assert 1 not in NameIndex(store, "ledger/").generations("b", "n")
    assert not [p for p in store.docs if "/names/" not in p], "and no record"


def test_conflict_error_is_the_stores_precondition_failure():
    store = DictStore()
    store.write("x", {}, 0)
    try:
        store.write("x", {}, 0)
    except ConflictError:
        return
    raise AssertionError("DictStore must raise ConflictError on a failed precondition")
