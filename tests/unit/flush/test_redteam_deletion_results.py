"""Red team: a deletion's result told again (its message redelivered: Eventarc and Pub/Sub deliver at
least once, or its first publish unconfirmed) must be the same bytes under the same result_id
(results.py promises it). For an object whose import the Hub had rejected (ledger record `failed`)
and that then left the bucket, the first telling has externalId "" (`_tombstone` never sets it),
and the retelling, from the ledger record marked deleted, has the externalId that record kept.
(No network: the state bucket is a dict, the Pub/Sub client keeps what it is given; the bucket is
asked through `_live`, which says: not live.)"""
from __future__ import annotations

from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.flush import results
from hub_import.flush.soft_delete import Gone
from hub_import.state.ledger import FAILED
from tests.unit.flush.test_early_claims import Shipper
from tests.unit.flush.test_result_messages import DictStore, Publisher


def Flushing(store, publisher):  # noqa: N802 - the deleter, its results told through `publisher`
    return Shipper(store, results=results.Results(publisher, "topic", "f1", 60))


def test_a_deletion_told_again_is_the_same_bytes_under_the_same_result_id():
    store, publisher = DictStore(), Publisher()
    ref = ObjectRef("landing", "cams/a.jpg", 1764000000000001)
    flush = Flushing(store, publisher)
    # GIVEN an object whose import the Hub rejected: its ledger record says failed
    flush.ledger.store.write(flush.ledger.path(ref), {"state": FAILED, "object": ref.uri, "generation": ref.generation,
                                                      "external_id": "cams/a.jpg", "manifest": "m-failed.json",
                                                      "project": "proj", "data": "https://x/cams/a.jpg"})
    message = DeletionMessage(ref, "deleted", "e1")
    # WHEN it leaves the bucket, and its deletion is delivered twice
    for ack in ("a1", "a2"):
        item = Gone(message, [ack])
        flush.deleter.soft.finish([item], flush.deleter._look(item))
    # THEN both are acked, and told under one result_id with the same bytes
    assert flush.acked == ["a1", "a2"]
    told = [(attributes["result_id"], data) for _, data, attributes in publisher.sent]
    assert len({rid for rid, _ in told}) == 1
    assert told[0][1] == told[1][1], [data.decode() for _, data in told]
