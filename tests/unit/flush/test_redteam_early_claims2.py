"""Red team (redteam4) against the early-claim fixes of 6f57781 (claims.py, shipper.py), with the state
bucket in memory (the harness of tests/unit/flush/test_early_claims.py).

The thread here: a release (or a write) whose call fails is not one that did nothing. A guarded
delete that GCS applied and whose answer was lost (a 503 until the client's retry deadline, a
reset) raises all the same; the code takes "raised" to mean "the claim is still there"."""
from __future__ import annotations

from google.api_core import exceptions

from hub_import.core.messages import DeletionMessage
from hub_import.flush.soft_delete import Gone
from tests.unit.flush.test_early_claims import DEST, Shipper, Store, built, item


class AppliedDeleteStore(Store):
    """Guarded deletes that GCS applies but whose answer is lost (`lose_delete_answers` of them):
    the call raises after the document is gone."""

    def __init__(self):
        super().__init__()
        self.lose_delete_answers = 0

    def delete(self, path, if_generation_match=None):
        done = super().delete(path, if_generation_match=if_generation_match)
        if self.lose_delete_answers:
            self.lose_delete_answers -= 1
            raise exceptions.ServiceUnavailable("injected: the delete went through, its answer did not")
        return done


def Flushing(store):  # noqa: N802 - the shipper with the deleter's verdicts; the bucket says every object is gone
    return Shipper(store)


def held_in(shipper, *items):
    for i in items:
        shipper.claims.claim_early(i, "m1.json", DEST.project)
        shipper.shipper.held[shipper.ledger.key(i.message.ref)] = i
        i.claim.result()


# Failed on 6f57781 (fixed since): an asset of a file gone from the bucket stays in the Hub (and the file has no
# ledger record: any redelivery imports it again). a.jpg gen 1 is held, its early claim won for
# m1.json. a.jpg leaves the bucket; its deletion comes in a later pull. _unclaim gives the claim
# back; the guarded delete goes through but its answer is lost (raises). _give_back counts it "not
# released", so _unclaim defers the deletion and leaves item.claim as won: the group ships with
# a.jpg on a claim that no longer exists (m1.json carries a.jpg, no record names m1.json for it).
# When the deletion comes back, the ledger has no record of a.jpg: "left before it was imported",
# tombstoned, acked; the asset in the Hub is never deleted.
def test_a_release_applied_with_its_answer_lost_must_not_ship_the_item_on_a_claim_that_is_gone():
    store = AppliedDeleteStore()
    shipper = Flushing(store)
    a, b = item("a.jpg"), item("b.jpg")
    held_in(shipper, a, b)
    store.lose_delete_answers = 1
    deletion = (DeletionMessage(a.message.ref, "deleted", "e1"), "ack-del")
    now = shipper.shipper.unclaim([deletion])
    assert now == []  # the deletion waits (as 6f57781 means it to) ...
    kept = shipper.claims.claim_all(built([a, b]), "m1.json", DEST)
    assert a in kept, "(not the case this test is about: a.jpg did not ship)"
    shipper.ledger.mark_sent("m1.json", len(kept))  # ... and m1.json goes to the Hub, carrying a.jpg
    record = shipper.ledger.read(a.message.ref)
    # WHEN the deletion comes back
    verdict = shipper.deleter._look(Gone(deletion[0], ["ack-del"]))
    # THEN it must find a.jpg's asset to delete (the record must name the manifest that carries it)
    assert verdict == "in_hub", \
        f"a.jpg's asset (sent in m1.json) is left in the Hub: the deletion says {verdict!r}; " \
        f"a.jpg's record before it came back: {record}"


# Failed on 6f57781 (fixed since): DUPLICATE, same mechanism with the file live. a.jpg gen 1 was deleted and the
# name uploaded again (gen 2, held, claim won for m1.json; ON_OVERWRITE=skip); gen 1's deletion
# comes in. The release of gen 2's claim goes through, its answer lost: the deletion waits, and
# m1.json ships a.jpg gen 2 with no ledger record. Eventarc delivers at least once: a duplicate
# finalize event for gen 2, pulled by a later flush, claims a.jpg afresh and imports it again.
def test_a_release_applied_with_its_answer_lost_must_not_let_a_redelivery_import_the_file_twice():
    from tests.unit.flush.test_redteam_early_claims import redelivered

    store = AppliedDeleteStore()
    shipper = Shipper(store)
    a, b = item("a.jpg", generation=2), item("b.jpg")
    held_in(shipper, a, b)
    store.lose_delete_answers = 1
    shipper.shipper.unclaim([(DeletionMessage(item("a.jpg", 1).message.ref, "deleted", "e1"), "ack-del")])
    kept = shipper.claims.claim_all(built([a, b]), "m1.json", DEST)
    assert a in kept, "(not the case this test is about: a.jpg did not ship)"
    shipper.ledger.mark_sent("m1.json", len(kept))  # a.jpg gen 2 is in the Hub
    # WHEN a duplicate message of a.jpg gen 2 reaches a later flush
    again, acked, _ = redelivered(store, "a.jpg", 2, "m2.json")
    # THEN it is a duplicate (acked), not imported a second time
    assert again == [], "a.jpg gen 2 imported twice: in m1.json (sent) and again in m2.json"


class FailingSwapStore(Store):
    """Compare-and-swap writes (a take-over) that fail with 503 after the client's retries."""

    fail_overwrites = False

    def write(self, path, body, if_generation_match=None):
        if self.fail_overwrites and if_generation_match:
            raise exceptions.ServiceUnavailable("injected: GCS 503")
        return super().write(path, body, if_generation_match=if_generation_match)


# Failed on 6f57781 (fixed since): WEDGE (the flush dies of one bad thing). a.jpg's record is a stale claim of a
# flush that died (f0, its manifest never written). This flush's early claim for m1.json loses to
# it; at ship time _judge takes it over, and that one compare-and-swap fails with a 503: the error
# goes up through _claim_all, _ship and _drain (which re-raises) and ends the flush. Every group
# still open is deferred, the summary is lost, and the group being shipped (b.jpg, its claim won
# for m1.json) is neither given back nor deferred: it is not in `full` or `groups` any more.
def test_one_failed_take_over_of_a_stale_claim_must_not_end_the_flush():
    store = FailingSwapStore()
    shipper = Shipper(store)
    a, b = item("a.jpg"), item("b.jpg")
    dead = Shipper(store, flush_id="f0")
    dead.ledger.claim(a.message.ref, "m0.json", "f0", "a.jpg")
    path = dead.ledger.path(a.message.ref)
    store.write(path, {**store.read(path).body, "at": 0})  # long stale: f0 died
    for i in (a, b):
        shipper.claims.claim_early(i, "m1.json", DEST.project)
    store.fail_overwrites = True
    try:
        kept = shipper.claims.claim_all(built([a, b]), "m1.json", DEST)
    except exceptions.GoogleAPICallError as exc:
        raise AssertionError(f"one failed take-over ended the flush: {exc!r}") from exc
    # THEN a.jpg waits for a later flush, and b.jpg is carried or given back
    assert a not in kept and a in shipper.deferred


def Bucket(store, live: dict):  # noqa: N802 - the same, over a bucket holding exactly `live` (name -> generation)
    return Shipper(store, live=live)


def one_pull_deletes(shipper, held, deletion_generation):
    """A pull that folds held.jpg's newer generation in and brings a deletion of it: what _drain does."""
    deletion = (DeletionMessage(item(held.message.ref.name, deletion_generation).message.ref, "deleted", "e1"),
                "ack-del")
    for m, _ in shipper.shipper.unclaim([deletion]):
        return shipper.deleter._look(Gone(m, ["ack-del"]))
    return "deferred"


# PASSES on 6f57781 (regression): a deletion and a newer generation of the same name in one pull.
# a.jpg gen 1 held (claim won for m1.json); one pull folds gen 2 in and says gen 2 left the bucket
# (nothing live). The claim is given back, the deletion recorded (never imported), and at ship time
# a.jpg meets that record: dropped, acked; m1.json carries b.jpg only and no record names it for a.jpg.
def test_a_deletion_of_the_newer_generation_folded_into_a_held_import_drops_it():
    store = Store()
    shipper = Bucket(store, live={"b.jpg": 1})
    a, b = item("a.jpg", 1), item("b.jpg")
    held_in(shipper, a, b)
    a.message = item("a.jpg", 2).message
    a.ack_ids.append("ack-a.jpg-2")
    assert one_pull_deletes(shipper, a, 2) == "not_imported"
    kept = shipper.claims.claim_all(built([a, b]), "m1.json", DEST)
    assert kept == [b] and set(a.ack_ids) <= set(shipper.acked)
    record = shipper.ledger.read(a.message.ref).body
    assert record["state"] == "deleted" and record.get("manifest") != "m1.json"


# PASSES on 6f57781 (regression): the same pull, but the deletion is of gen 1 and gen 2 is live: not
# a deletion (overwritten); a.jpg goes in as gen 2, in m1.json, and its record says so.
def test_a_deletion_of_an_older_generation_leaves_the_newer_held_import_to_ship():
    store = Store()
    shipper = Bucket(store, live={"a.jpg": 2, "b.jpg": 1})
    a, b = item("a.jpg", 1), item("b.jpg")
    held_in(shipper, a, b)
    a.message = item("a.jpg", 2).message
    assert one_pull_deletes(shipper, a, 1) == "overwritten"
    kept = shipper.claims.claim_all(built([a, b]), "m1.json", DEST)
    assert kept == [a, b]
    record = shipper.ledger.read(a.message.ref)
    assert (record.body["manifest"], record.body["generation"], record.generation) == \
        ("m1.json", 2, a.record_generation)


# PASSES on 6f57781 (regression): the give-back fails outright (nothing deleted): the deletion waits,
# a.jpg ships on its claim, and when the deletion comes back it finds the asset to delete.
def test_a_failed_give_back_ships_the_import_and_the_deletion_then_finds_it():
    from tests.unit.flush.test_redteam_early_claims import FaultyStore

    store = FaultyStore()
    shipper = Bucket(store, live={"b.jpg": 1})
    a, b = item("a.jpg"), item("b.jpg")
    held_in(shipper, a, b)
    store.fail_deletes = True
    assert one_pull_deletes(shipper, a, 1) == "deferred"
    store.fail_deletes = False
    kept = shipper.claims.claim_all(built([a, b]), "m1.json", DEST)
    assert kept == [a, b]
    shipper.ledger.mark_sent("m1.json", 2)
    assert shipper.deleter._look(Gone(DeletionMessage(a.message.ref, "deleted", "e1"), ["ack-del"])) == "in_hub"
