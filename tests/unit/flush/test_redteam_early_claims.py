"""Red team (redteam3) against the early claims of the pipelined flush (claims.py, shipper.py), with the
state bucket in memory (the harness of tests/unit/flush/test_early_claims.py).

The common thread of the losses: an early claim is made for the manifest path P its group will
become. When the flush keeps such a claim in the ledger but defers the item instead of putting
it in P, P is still written and sent with the rest of the group, so the ledger says "in P, and P
is in the Hub" for an object that is not in P: its redelivered message is acked as a duplicate.
"""
from __future__ import annotations

from collections import deque

from google.api_core import exceptions

from hub_import.core.messages import DeletionMessage
from tests.unit.flush.test_early_claims import DEST, Shipper, Store, built, item


class FaultyStore(Store):
    """Conditional overwrites (`fail_overwrites`) and guarded deletes (`fail_deletes`) that fail
    with 503 after the client's retries, as GCS can (the proxy's fail_before for a minute)."""

    def __init__(self):
        super().__init__()
        self.fail_overwrites = self.fail_deletes = False

    def write(self, path, body, if_generation_match=None):
        if self.fail_overwrites and if_generation_match:  # a compare-and-swap, not a create
            raise exceptions.ServiceUnavailable("injected: GCS 503")
        return super().write(path, body, if_generation_match=if_generation_match)

    def delete(self, path, if_generation_match=None):
        if self.fail_deletes:
            raise exceptions.ServiceUnavailable("injected: GCS 503")
        return super().delete(path, if_generation_match=if_generation_match)


def lost(name: str, kept, again, acked) -> bool:
    """Whether `name` is lost: not in the manifest the first flush sent, and its message, come back,
    acked all the same (a message deferred again is not lost: it is taken over once stale)."""
    return name not in [i.message.ref.name for i in kept] and name not in [i.message.ref.name for i in again] \
        and any(a.startswith(f"ack-{name}-") for a in acked)


def redelivered(store, name: str, generation: int, path: str):
    """A later flush (another id) meets the message of `name`@`generation` again: its claim for
    `path`, judged. Returns (kept, acked ack ids, deferred)."""
    later = Shipper(store, flush_id="f2")
    again = item(name, generation)
    later.claims.claim_early(again, path, DEST.project)
    kept = later.claims.claim_all(built([again]), path, DEST)
    return kept, later.acked, later.deferred


# Failed on 3a6eb45 (fixed since): LOSS. ON_OVERWRITE=skip, a.jpg gen 1 is admitted and claimed early for m1.json;
# gen 2 (an overwrite) folds into the held item in a later pull; when the group ships, rewriting
# the claim for gen 2 (_claim_newer, a compare-and-swap) fails with a GCS 503. The item is deferred
# but the early claim for m1.json stays; m1.json goes to the Hub with b.jpg only and is marked
# sent. When a.jpg's message comes back, the ledger says it is in m1.json, m1.json is sent:
# acked as a duplicate. Neither generation of a.jpg ever reaches the Hub, and nothing says so.
def test_a_failed_rewrite_for_a_newer_generation_must_not_leave_a_claim_on_the_manifest_sent_without_it():
    store = FaultyStore()
    shipper = Shipper(store)
    held, other = item("a.jpg", generation=1), item("b.jpg")
    for i in (held, other):
        shipper.claims.claim_early(i, "m1.json", DEST.project)
    held.message = item("a.jpg", generation=2).message  # folded in by _admit from a later pull
    store.fail_overwrites = True
    kept = shipper.claims.claim_all(built([held, other]), "m1.json", DEST)
    store.fail_overwrites = False
    assert held not in kept  # a.jpg waits for a later flush ...
    if kept:
        shipper.ledger.mark_sent("m1.json", len(kept))  # ... while m1.json (without it) goes in
    # WHEN a.jpg's deferred message comes back
    again, acked, _ = redelivered(store, "a.jpg", 2, "m2.json")
    # THEN it must be imported (or wait again), not acked as a duplicate of a manifest it was never in
    assert not lost("a.jpg", kept, again, acked), \
        f"a.jpg lost: its message was acked ({acked}) because its record names m1.json, which never held it"


# Failed on 3a6eb45 (fixed since): LOSS. A deletion of a.jpg gen 1 is in hand while the held import is of gen 2
# (uploaded again; ON_OVERWRITE=skip folds both into one item). _unclaim gives the early claim back,
# but the guarded delete fails (GCS 503): "it goes stale", says the log. The deletion is acked as
# an overwrite (gen 2 is live; the ledger is not touched). At ship time the import is claimed again
# for the SAME path m1.json, meets its own stale claim ("claimed moments ago", no manifest yet)
# and is deferred, while m1.json is written and sent with b.jpg. The redelivered message is acked
# as a duplicate: a file that is in the bucket never reaches the Hub.
def test_a_failed_give_back_before_a_deletion_must_not_leave_a_claim_on_the_manifest_sent_without_it():
    store = FaultyStore()
    shipper = Shipper(store)
    held, other = item("a.jpg", generation=2), item("b.jpg")
    for i in (held, other):
        shipper.claims.claim_early(i, "m1.json", DEST.project)
        shipper.shipper.held[shipper.ledger.key(i.message.ref)] = i
    store.fail_deletes = True
    shipper.shipper.unclaim([(DeletionMessage(item("a.jpg", 1).message.ref, "deleted", "e1"), "ack-del")])
    store.fail_deletes = False
    kept = shipper.claims.claim_all(built([held, other]), "m1.json", DEST)
    if kept:
        shipper.ledger.mark_sent("m1.json", len(kept))
    again, acked, _ = redelivered(store, "a.jpg", 2, "m2.json")
    assert not lost("a.jpg", kept, again, acked), \
        f"a.jpg (live, gen 2) lost: kept in the first flush={[i.message.ref.name for i in kept]}, " \
        f"acked as a duplicate later={acked}"


class AppliedThenFailed(Store):
    """A create that GCS applies but whose answer never arrives (RetryError after retries)."""

    def __init__(self):
        super().__init__()
        self.lose_answer_for: set[str] = set()

    def create(self, path, body):
        generation = self.write(path, body, if_generation_match=0)
        if body.get("object", "").rsplit("/", 1)[-1] in self.lose_answer_for:
            self.lose_answer_for.clear()
            raise exceptions.RetryError("injected: answer lost", None)
        return generation


# Failed on 3a6eb45 (fixed since): LOSS. Same mechanism through _unclaim: a.jpg's early claim landed but its answer
# was lost (the claim future raised). _claim_all alone would defer the whole group and never write
# m1.json (safe); but a deletion message of another generation in hand makes _unclaim set
# item.claim = None, forgetting the unknown outcome. At ship time a.jpg is claimed again for m1.json,
# meets the record that did land, is deferred, and m1.json is sent without it.
def test_an_unknown_claim_forgotten_by_unclaim_must_not_leave_a_claim_on_the_manifest_sent_without_it():
    store = AppliedThenFailed()
    shipper = Shipper(store)
    store.lose_answer_for = {"a.jpg"}
    held, other = item("a.jpg", generation=2), item("b.jpg")
    for i in (held, other):
        shipper.claims.claim_early(i, "m1.json", DEST.project)
        shipper.shipper.held[shipper.ledger.key(i.message.ref)] = i
    shipper.shipper.unclaim([(DeletionMessage(item("a.jpg", 1).message.ref, "deleted", "e1"), "ack-del")])
    kept = shipper.claims.claim_all(built([held, other]), "m1.json", DEST)
    if kept:
        shipper.ledger.mark_sent("m1.json", len(kept))
    again, acked, _ = redelivered(store, "a.jpg", 2, "m2.json")
    assert not lost("a.jpg", kept, again, acked), \
        f"a.jpg lost: kept in the first flush={[i.message.ref.name for i in kept]}, acked later={acked}"


# Failed on 3a6eb45 (fixed since): CRASH. _unclaim sets item.claim = None on a held import; the item stays in its
# group. When that group is closed (full, or HOLD_S) and _ship_claimed looks at it before the
# pulling ends, `i.claim.done()` raises AttributeError and the whole flush dies (every unsent group
# deferred, the summary lost). The integration test test_a_deletion_for_a_held_import_must_not_kill_the_flush
# shows it on the stack; this is the same thing without timing.
def test_ship_claimed_must_cope_with_an_item_whose_early_claim_a_deletion_gave_back():
    shipper = Shipper(Store())
    a, b = item("a.jpg"), item("b.jpg")
    for i in (a, b):
        shipper.claims.claim_early(i, "m1.json", DEST.project)
        shipper.shipper.held[shipper.ledger.key(i.message.ref)] = i
    shipper.shipper.unclaim([(DeletionMessage(a.message.ref, "deleted", "e1"), "ack-del")])
    shipped = []
    shipper.shipper._ship = lambda *group: shipped.append(group)
    shipper.shipper.full = deque([(DEST, [a, b], "m1.json")])
    shipper.shipper.ship_claimed()  # raised AttributeError on 3a6eb45
    assert len(shipped) == 1
