"""Shared in-memory harness for the red-team tests (no network: dict store, recording queue, fake Hub)."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.flush import results
from hub_import.flush.deleter import Deleter
from hub_import.flush.soft_delete import SoftDeleter
from hub_import.flush.summary import Summary
from hub_import.flush.turn import Turn
from hub_import.state.ledger import Ledger
from tests.unit.flush.test_deletions_listing import ListingHub, VirtualClock  # noqa: F401
from tests.unit.flush.test_early_claims import RecordingQueue, Store  # noqa: F401
from tests.unit.flush.test_result_messages import DictStore, Publisher  # noqa: F401

PROJECT, SETTLE_S = "proj", 40.0
URL = "https://storage.googleapis.com/landing/{name}"


class Deleting:
    """One flush's deleter over a shared store, publisher and Hub (several may share them)."""

    def __init__(self, store, hub, publisher, flush_id="f1", live=None):
        settings = SimpleNamespace(external_id_template="{name}",
                                   url_template="https://storage.googleapis.com/{bucket}/{name}",
                                   delete_follows=True, settle_s=SETTLE_S, requests_per_minute=0,
                                   manifest_prefix="manifests/")
        self.store, self.hub, self.queue = store, hub, RecordingQueue()
        self.turn = Turn(flush_id, settings, Summary(flush_id), ThreadPoolExecutor(4), lease_s=60.0,
                         reconcile_budget=100)
        self.ledger = Ledger(store, "ledger/", False)
        hooks = results.Results(publisher, "topic", flush_id, 60)
        self.manifests = SimpleNamespace(state_of=lambda path: None, results=hooks, store=store,
                                         load=lambda path: None)
        bucket = live if live is not None else {}
        self.live = lambda ref: bucket.get(ref.name)
        self.soft = SoftDeleter(self.turn, hub, self.ledger, self.manifests, self.queue, self.live)
        self.deleter = Deleter(self.turn, self.ledger, self.manifests, self.queue, self.soft, self.live)

    def imported(self, name: str, generation: int = 1) -> ObjectRef:
        ref = ObjectRef("landing", name, generation)
        self.ledger.claim(ref, "m1.json", "f0", name, project=PROJECT, data=URL.format(name=name))
        self.hub.add(name, URL.format(name=name))
        self.ledger.mark_sent("m1.json", 1)
        self.ledger._sent.clear()
        return ref

    def delete(self, ref: ObjectRef, ack: str) -> None:
        self.deleter.delete_objects([(DeletionMessage(ref, "deleted", f"e-{ref.name}"), ack)])


def told(publisher) -> dict[str, set[bytes]]:
    """result_id -> the distinct bodies told under it."""
    out: dict[str, set[bytes]] = {}
    for _, data, attributes in publisher.sent:
        out.setdefault(attributes["result_id"], set()).add(data)
    return out


def bodies(publisher, result_id):
    return [json.loads(d) for _, d, a in publisher.sent if a["result_id"] == result_id]
