"""Red team 2 of issue 23 (fixed): RESULT-BYTES / LIE: a deletion whose DELETE answer was lost (ledger DELETING, asset_ids [A]) and
whose project then answers 404 is told `not_in_hub` with assetIds [] (soft_delete.py:111 -> _record
with item.asset_ids still empty), while its record keeps asset_ids [A] (ledger.mark_deleted keeps the
prior's asset_ids when none are given). The same deletion delivered again ('already_deleted') is
re-derived from the record (deletion_results.deletion_result) as `deleted` with assetIds [A]: the
same deletion (same `manifest` = record@generation) told twice under two result_ids
(`...#not_in_hub` then `...#deleted`) with contradictory outcomes: a consumer cannot tell which is
true (the asset WAS soft-deleted by the lost-answer DELETE)."""
from __future__ import annotations

import json

from hub_import.core import clock
from hub_import.hub import HubError, HubNotFoundError

from tests.unit.flush.redteam_deleting import SETTLE_S, Deleting, Store as DictStore, ListingHub, Publisher, VirtualClock


class FlakyHub(ListingHub):
    def __init__(self):
        super().__init__()
        self.delete_fails = True
        self.project_gone = False

    def soft_delete(self, project, asset_ids, *, deadline=None):
        super().soft_delete(project, asset_ids)
        if self.delete_fails:
            self.delete_fails = False
            raise HubError("504 gateway timeout (the DELETE was done, its answer lost)", 504)

    def list_assets(self, project, **kw):
        if self.project_gone:
            raise HubNotFoundError(f"project {project} not found", 404)
        return super().list_assets(project, **kw)


def test_one_deletion_told_with_two_bodies_when_its_project_is_gone_after_a_lost_delete_answer():
    with clock.use(VirtualClock()) as now:
        store, hub, publisher = DictStore(), FlakyHub(), Publisher()
        flush = Deleting(store, hub, publisher)
        ref = flush.imported("a.txt")
        now.sleep(SETTLE_S + 1)
        # the DELETE goes through, its answer is lost: intent DELETING with the asset id, deferred
        flush.delete(ref, "ack-1")
        assert flush.ledger.read(ref).body["state"] == "deleting"
        # then the project is gone (404); the deletion comes back: recorded and told not_in_hub
        hub.project_gone = True
        flush.delete(ref, "ack-2")
        assert "ack-2" in flush.queue.acked
        # the deletion is delivered once more (at least once): already_deleted, told from the record
        flush.delete(ref, "ack-3")
        assert "ack-3" in flush.queue.acked
        # one deletion (one `manifest`: record path @ generation) must be told with one outcome
        outcomes = {}
        for _, data, attributes in publisher.sent:
            body = json.loads(data)
            outcomes.setdefault(body["manifest"], set()).add((body["state"], tuple(body["assets"][0]["assetIds"])))
        assert all(len(v) == 1 for v in outcomes.values()), f"one deletion told with two outcomes: {outcomes}"
