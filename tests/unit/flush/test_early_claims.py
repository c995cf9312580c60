"""The flush's claims begin as objects are admitted (claims.py, shipper.py). What that must not change: the
ledger record names the generation the manifest carries, a group whose claims cannot all be known
is not sent and leaves no claim of its own behind, and a deletion in hand for a held import's
name is carried out before that import is claimed. (No network: the state bucket is a dict.)"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from google.api_core import exceptions

from hub_import.core.messages import DeletionMessage, ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.flush.claims import Claims
from hub_import.flush.deleter import Deleter
from hub_import.flush.items import Item
from hub_import.flush.shipper import Shipper as ShipperPart
from hub_import.flush.soft_delete import SoftDeleter
from hub_import.flush.summary import Summary
from hub_import.flush.turn import Turn
from hub_import.state.ledger import CLAIMED, Ledger
from tests.unit.flush.test_result_messages import DictStore

DEST = Destination(project="proj", storage="store-1")


class NoBatches:
    """Batches for destinations that name none."""

    def prepare(self, dests):
        pass

    def ids(self, dest, deadline=None):
        return ()


class Store(DictStore):
    """Conditional creates too, and creates that fail with 503 for names in `failing`."""

    def __init__(self):
        super().__init__()
        self.failing: set[str] = set()

    def create(self, path, body):
        if body.get("object", "").rsplit("/", 1)[-1] in self.failing:
            raise exceptions.ServiceUnavailable("injected")
        return self.write(path, body, if_generation_match=0)

    def delete(self, path, if_generation_match=None):
        with self.lock:
            current = self.docs.get(path)
            if current is not None and if_generation_match is not None and current.generation != if_generation_match:
                return False
            return super().delete(path)


class RecordingQueue:
    """The flush's queue side, recording what it acks and defers."""

    def __init__(self):
        self.acked, self.deferred = [], []

    def ack(self, ack_ids):
        self.acked += ack_ids

    def defer(self, items):
        self.deferred += items

    def extend(self, items):
        pass


class Shipper:
    """The flush's claims and shipper, and its deleter, composed as Flush composes them over the
    in-memory state bucket, with a queue that records. `live`: the landing bucket's live generation
    of each name (none given: every object has left the bucket). `results`: the results hooks."""

    def __init__(self, store, flush_id: str = "f1", live: dict | None = None, results=None):
        self.id = flush_id
        settings = SimpleNamespace(external_id_template="{name}", max_assets_per_manifest=500, delete_follows=True,
                                   url_template="https://storage.googleapis.com/{bucket}/{name}")
        self.turn = Turn(flush_id, settings, Summary(flush_id), ThreadPoolExecutor(4), lease_s=60.0, reconcile_budget=0)
        self.ledger = Ledger(store, "ledger/", False)
        self.queue = RecordingQueue()
        manifests = SimpleNamespace(state_of=lambda path: None, results=results)
        bucket = live or {}
        self.live = lambda ref: bucket.get(ref.name)
        self.claims = Claims(self.turn, self.ledger, manifests, self.queue, self.live)
        self.shipper = ShipperPart(self.turn, self.ledger, self.claims, manifests, NoBatches(), self.queue, None)
        soft = SoftDeleter(self.turn, None, self.ledger, manifests, self.queue, self.live)
        self.deleter = Deleter(self.turn, self.ledger, manifests, self.queue, soft, self.live)

    @property
    def acked(self):
        return self.queue.acked

    @property
    def deferred(self):
        return self.queue.deferred


def item(name: str, generation: int = 1) -> Item:
    ref = ObjectRef("landing", name, generation, size=10)
    return Item(ObjectMessage(ref, DEST, None), [f"ack-{name}-{generation}"])


def built(items):
    for i in items:  # what _ship does once the batches are known
        i.asset = SimpleNamespace(external_id=i.message.ref.name, data=f"https://x/{i.message.ref.name}")
    return items


def test_a_newer_generation_folded_in_after_the_early_claim_is_the_one_the_record_names():
    store = Store()
    shipper = Shipper(store)
    held = item("a.jpg", generation=1)
    shipper.claims.claim_early(held, "m1.json", DEST.project)
    # GIVEN a newer upload of the name, folded into the held item after its claim began
    held.message = item("a.jpg", generation=2).message
    # WHEN its group ships
    kept = shipper.claims.claim_all(built([held]), "m1.json", DEST)
    # THEN the item is carried, and its record names generation 2 and the manifest
    assert kept == [held]
    record = shipper.ledger.read(held.message.ref).body
    assert (record["state"], record["generation"], record["manifest"]) == (CLAIMED, 2, "m1.json")
    assert held.record_generation == shipper.ledger.read(held.message.ref).generation


def test_a_group_with_a_claim_of_unknown_outcome_is_not_sent_and_gives_the_others_back():
    store = Store()
    store.failing = {"b.jpg"}
    shipper = Shipper(store)
    items = [item("a.jpg"), item("b.jpg"), item("c.jpg")]
    for i in items:
        shipper.claims.claim_early(i, "m1.json", DEST.project)
    # WHEN the group ships with one claim failed
    kept = shipper.claims.claim_all(built(items), "m1.json", DEST)
    # THEN nothing is carried, all three wait for a later flush, and no claim is left in the ledger
    assert kept == [] and shipper.deferred == items
    assert [shipper.ledger.read(i.message.ref) for i in items] == [None, None, None]


def test_a_deletion_in_hand_gives_back_the_early_claim_of_a_held_import_of_its_name():
    store = Store()
    shipper = Shipper(store)
    held, other = item("a.jpg"), item("b.jpg")
    for i in (held, other):
        shipper.claims.claim_early(i, "m1.json", DEST.project)
        shipper.shipper.held[shipper.ledger.key(i.message.ref)] = i
    # WHEN a deletion of a.jpg comes in a later pull
    shipper.shipper.unclaim([(DeletionMessage(held.message.ref, "deleted", "e1"), "ack-del")])
    # THEN a.jpg's claim is gone (its import is claimed again when it ships, after the deletion), b.jpg's stays
    assert shipper.ledger.read(held.message.ref) is None and held.claim is None
    assert shipper.ledger.read(other.message.ref).body["state"] == CLAIMED


def test_a_deletion_waits_when_the_held_imports_claim_cannot_be_given_back():
    store = Store()
    shipper = Shipper(store)
    held = item("a.jpg")
    shipper.claims.claim_early(held, "m1.json", DEST.project)
    shipper.shipper.held[shipper.ledger.key(held.message.ref)] = held
    held.claim.result()

    def failing_delete(path, if_generation_match=None):
        raise exceptions.ServiceUnavailable("injected")
    store.delete = failing_delete
    # WHEN a deletion of a.jpg comes in while its claim cannot be released
    deletion = (DeletionMessage(held.message.ref, "deleted", "e1"), "ack-del")
    now = shipper.shipper.unclaim([deletion])
    # THEN the deletion is not carried out now but deferred
    assert now == [] and [d.ack_ids for d in shipper.deferred] == [["ack-del"]]
    # AND the import, claimed again when it ships, meets its own standing claim and is carried on it
    assert shipper.ledger.read(held.message.ref).body["state"] == CLAIMED
    assert shipper.claims.claim_all(built([held]), "m1.json", DEST) == [held]
    assert held.record_generation == shipper.ledger.read(held.message.ref).generation


def test_a_claim_this_flush_made_for_the_manifest_it_is_writing_is_its_own():
    store = Store()
    shipper = Shipper(store)
    a = item("a.jpg")
    # GIVEN a record this flush wrote for m1.json moments ago (a claim whose answer it lost, say)
    shipper.ledger.claim(a.message.ref, "m1.json", shipper.id, "a.jpg")
    # WHEN a.jpg ships in m1.json
    kept = shipper.claims.claim_all(built([a]), "m1.json", DEST)
    # THEN it is carried (not deferred while m1.json goes out without it), the record rewritten as its claim
    assert kept == [a] and shipper.deferred == []
    assert a.record_generation == shipper.ledger.read(a.message.ref).generation
