"""A deletion whose result Pub/Sub did not confirm is told when its message comes back, whatever
became of the name meanwhile. (Issue 23: the name uploaded again before the redelivery made the
deleter ack it as "overwritten", and the deletion was never told.) No network: the state bucket
is a dict, the Pub/Sub client keeps what it is given, the landing bucket is a dict of live names."""
from __future__ import annotations

import json

from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.flush import results
from hub_import.state.ledger import FAILED
from tests.unit.flush.test_early_claims import Shipper
from tests.unit.flush.test_result_messages import DictStore, Publisher

REF = ObjectRef("landing", "cams/a.jpg", 1764000000000001)


def deliver(flush, ack_id: str) -> None:
    """One delivery of the deletion message of REF, carried out as the deleter does."""
    flush.turn.settings.requests_per_minute = 0  # (unpaced: no Hub call is made here)
    flush.deleter.delete_objects([(DeletionMessage(REF, "deleted", "e1"), ack_id)])


def test_an_unconfirmed_deletion_result_is_told_when_its_message_comes_back_after_a_new_upload():
    store, publisher = DictStore(), Publisher(failing=True)
    bucket = {"unrelated": 1}
    flush = Shipper(store, live=bucket, results=results.Results(publisher, "topic", "f1", 60))
    # GIVEN an object whose import the Hub rejected, deleted from the bucket, its result not confirmed
    flush.ledger.store.write(flush.ledger.path(REF), {"state": FAILED, "object": REF.uri,
                                                      "generation": REF.generation, "external_id": "cams/a.jpg",
                                                      "manifest": "m-failed.json", "project": "proj",
                                                      "data": "https://x/cams/a.jpg"})
    deliver(flush, "a1")
    assert flush.acked == [] and publisher.sent == []
    # WHEN the name is uploaded again and claimed for its own import, and then the message comes back
    bucket[REF.name] = REF.generation + 1
    newer = ObjectRef(REF.bucket, REF.name, REF.generation + 1)
    doc = flush.ledger.read(REF)
    assert flush.ledger.take_over(newer, doc.generation, "m2.json", "f2", "cams/a.jpg", project="proj",
                                  data="https://x/cams/a.jpg").won
    publisher.failing = False
    deliver(flush, "a2")
    # THEN the deletion is told (its own result_id, the generation that left), and only then acked
    [(_, data, attributes)] = publisher.sent
    body = json.loads(data)
    assert attributes["result_id"] == f"{flush.ledger.path(REF)}@{REF.generation}#not_imported"
    assert (body["kind"], body["state"], body["assets"][0]["generation"]) == ("delete", "not_imported",
                                                                             str(REF.generation))
    assert flush.acked == ["a2"]
    # AND a later delivery of it, once told, is acked as the overwrite it now is, told no more
    deliver(flush, "a3")
    assert len(publisher.sent) == 1 and flush.acked == ["a2", "a3"]


def test_a_deletion_result_told_again_while_the_name_is_back_stays_unacked_until_confirmed():
    store, publisher = DictStore(), Publisher(failing=True)
    bucket = {"unrelated": 1}
    flush = Shipper(store, live=bucket, results=results.Results(publisher, "topic", "f1", 60))
    # GIVEN a deletion whose result was not confirmed, and the name uploaded again since
    deliver(flush, "a1")
    bucket[REF.name] = REF.generation + 1
    # WHEN its message comes back and Pub/Sub still does not confirm
    deliver(flush, "a2")
    # THEN nothing is acked: it comes back again
    assert flush.acked == [] and publisher.sent == []

