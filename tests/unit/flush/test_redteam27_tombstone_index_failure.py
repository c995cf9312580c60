"""Red team 27: the name index is now written before every ledger record and raises when it cannot
be (state/ledger.py `_list`). Claims handle that as an unknown claim (the group is deferred), but
the deleter's own record writes run in the flush's pool with no handler: `Deleter._look` ->
`_tombstone` / the later-generation `mark_deleted` (deleter.py:147, :198) inside
`list(self.turn.pool.map(...))` (deleter.py:81), and the soft deleter's intent and record
(soft_delete.py:182, :196). One deletion whose index write fails (a 503 after the client's
retries, or the per-object write rate GCS allows a hot name's index: 429s until the retry gives up)
escapes `delete_objects`; `Flush._drain` then abandons every group it holds and the flush dies
(run.py `_drain`: `except BaseException: abandon; raise`), instead of that one deletion coming
back. Before d7e1a9f an index failure was logged and cost nothing.
(No network: the state bucket is a dict whose name index is down.)"""
from __future__ import annotations

from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.state.name_index import NameIndex
from tests.unit.flush.test_early_claims import Shipper, Store
from tests.unit.flush.test_name_index import IndexDown


class Down(IndexDown, Store):
    pass


def test_a_deletion_whose_name_index_write_fails_comes_back_without_ending_the_flush():
    store = Down()
    flush = Shipper(store)  # every object has left the bucket
    flush.turn.settings.requests_per_minute = 0
    flush.ledger.each_generation, flush.ledger.names = True, NameIndex(store, "ledger/")  # ON_OVERWRITE=import
    ok = ObjectRef("landing", "cams/a.jpg", 1764000000000001, size=10)
    # GIVEN a pull with one deletion of a file never imported (its tombstone is recorded)
    try:
        flush.deleter.delete_objects([(DeletionMessage(ok, "deleted", "e1"), "d1")])
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"the deletion's index failure escaped the deleter and ends the flush: {exc!r}")
    # THEN it comes back later, nothing acked
    assert flush.acked == [] and [g.ack_ids for g in flush.deferred] == [["d1"]]


def test_a_deletion_record_write_of_unknown_outcome_keeps_its_untold_marker():
    """Found by the soak after the fix above (simulation told-once-1881): the soft deleter's record
    write that raised after it landed (its answer lost) was taken for one lost to another flush, and
    its untold marker removed; the name uploaded again before the message came back, the deletion
    was then acked as an overwrite and never told. The marker stays while the outcome is unknown."""
    from google.api_core import exceptions

    from hub_import.flush import results
    from hub_import.flush.soft_delete import Gone
    from hub_import.state.ledger import SENT
    from tests.unit.flush.test_result_messages import Publisher

    class LostAnswer(Store):
        """The ledger record's write lands, and then its answer is lost (a 503 after it)."""

        def write(self, path, body, if_generation_match=None):
            done = super().write(path, body, if_generation_match)
            if body.get("state") == "deleted" and "/untold/" not in path:
                raise exceptions.ServiceUnavailable("503 answer lost")
            return done

    store = LostAnswer()
    flush = Shipper(store, results=results.Results(Publisher(), "topic", "f1", 60))
    ref = ObjectRef("landing", "cams/a.jpg", 1764000000000001, size=10)
    store.write(flush.ledger.path(ref), {"state": SENT, "object": ref.uri, "generation": ref.generation,
                                         "external_id": "cams/a.jpg", "manifest": "m1.json", "project": "proj"})
    item = Gone(DeletionMessage(ref, "deleted", "e1"), ["d1"])
    item.record, item.project, item.external_id, item.asset_ids = flush.ledger.read(ref), "proj", "cams/a.jpg", ["a1"]
    flush.deleter.soft._record([item], "deleted")
    assert flush.acked == [] and [g.ack_ids for g in flush.deferred] == [["d1"]]
    assert flush.ledger.untold(ref), "the deletion's result stays marked: it is told whatever follows"
