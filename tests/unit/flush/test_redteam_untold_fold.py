"""Red team of issue 23 (SILENT, fixed): a deletion result that Pub/Sub did not confirm (its 'untold/' marker kept) is
never told when its redelivered message folds, in one pull, with the deletion of a later
generation of the same name: Deleter._fold keeps only the newest generation's message, _look
takes the FAILED/tombstone (or SENT/_locate) path, which never reads the markers, and every ack
id -- the unconfirmed one's too -- is acked. The marker stays forever; the deletion of gen1 was
never told. In-memory fakes only."""
from __future__ import annotations

import json

from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.flush import results
from hub_import.state.ledger import FAILED
from tests.unit.flush.test_early_claims import Shipper
from tests.unit.flush.test_result_messages import DictStore, Publisher

G1 = ObjectRef("landing", "cams/a.jpg", 1764000000000001)
G2 = ObjectRef("landing", "cams/a.jpg", 1764000000000002)


def test_unconfirmed_deletion_result_is_told_even_when_folded_with_a_later_deletion():
    store, publisher = DictStore(), Publisher(failing=True)
    bucket = {"unrelated": 1}
    flush = Shipper(store, live=bucket, results=results.Results(publisher, "topic", "f1", 60))
    flush.turn.settings.requests_per_minute = 0
    # gen1 was rejected by the Hub (FAILED), then deleted; its deletion result is not confirmed.
    flush.ledger.store.write(flush.ledger.path(G1), {"state": FAILED, "object": G1.uri, "generation": G1.generation,
                                                     "external_id": "cams/a.jpg", "manifest": "m1-failed.json",
                                                     "project": "proj", "data": "https://x/cams/a.jpg"})
    flush.deleter.delete_objects([(DeletionMessage(G1, "deleted", "e1"), "a1")])
    assert flush.acked == [] and publisher.sent == []
    assert flush.ledger.untold(G1), "the unconfirmed result is marked (owed)"
    # The name is uploaded again (gen2), claimed anew, rejected too (FAILED), and deleted again.
    doc = flush.ledger.read(G1)
    assert flush.ledger.take_over(G2, doc.generation, "m2.json", "f2", "cams/a.jpg", project="proj",
                                  data="https://x/cams/a.jpg").won
    doc = flush.ledger.read(G2)
    assert flush.ledger.settle(G2, FAILED, "m2-failed.json", "f2", "cams/a.jpg", doc.generation,
                               project="proj", data="https://x/cams/a.jpg")
    publisher.failing = False
    # Both deletion messages come back in the same pull (gen1's redelivered, gen2's first delivery).
    flush.deleter.delete_objects([(DeletionMessage(G1, "deleted", "e1"), "a2"),
                                  (DeletionMessage(G2, "deleted", "e2"), "b1")])
    told = {json.loads(d)["assets"][0]["generation"] for _, d, _ in publisher.sent}
    assert "a2" in flush.acked  # gen1's message was acked ...
    # ... so its deletion must have been told, and its marker cleared:
    assert str(G1.generation) in told, f"gen1's deletion never told (told: {told}); acked {flush.acked}"
    assert not flush.ledger.untold(G1), "an untold marker left behind with its message acked"
