"""Red team 27: the name index (state/name_index.py), now written BEFORE each ledger record and
failing the record's write when it cannot be written, is one read-modify-write document per name.
Under ON_OVERWRITE=import a pull carrying many generations of one name (a camera overwriting
`latest.jpg` every few seconds, each frame imported) claims them all at once on the flush's 32
I/O threads (run.py IO_THREADS; claims.py `claim_early` submits `Ledger.claim` to the pool). Every
one of those claims first rewrites the same index document under a generation precondition: only
one writer per round wins, and a claim that loses ATTEMPTS (8) rounds raises exceptions.Aborted.
`Claims.claim_all` then gives back and defers the WHOLE group: every other file bound for the
same project waits too, and, with such a name overwritten faster than ~8 times per pull, waits
every pull (each deferral spends a delivery attempt, and Pub/Sub dead-letters them after 100).
Before d7e1a9f the index was best-effort and this contention cost nothing.
(No network: the state bucket is a dict, each GCS call taking a few milliseconds, thread-safe.)"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.flush.claims import Claims
from hub_import.flush.items import Item
from hub_import.flush.run import IO_THREADS
from hub_import.flush.summary import Summary
from hub_import.flush.turn import Turn
from hub_import.state.ledger import Ledger
from tests.unit.flush.test_early_claims import RecordingQueue
from tests.unit.flush.test_result_messages import DictStore

DEST = Destination(project="proj", storage="store-1")
GCS_LATENCY_S = 0.005


class SlowStore(DictStore):
    """The dict state bucket, each call taking GCS_LATENCY_S, atomic per call (as GCS is) under
    DictStore's reentrant lock."""

    def create(self, path, body):
        return self.write(path, body, if_generation_match=0)

    def read(self, path):
        time.sleep(GCS_LATENCY_S)
        with self.lock:
            return super().read(path)

    def write(self, path, body, if_generation_match=None):
        time.sleep(GCS_LATENCY_S)
        with self.lock:
            return super().write(path, body, if_generation_match)


def item(name: str, generation: int) -> Item:
    it = Item(ObjectMessage(ObjectRef("landing", name, generation, size=10), DEST, None), [f"ack-{name}-{generation}"])
    it.asset = SimpleNamespace(external_id=f"{name}#{generation}", data=f"https://x/{name}")
    return it


def test_many_generations_of_one_name_in_a_pull_do_not_hold_back_the_group():
    store = SlowStore()
    settings = SimpleNamespace(external_id_template="{name}#{generation}", max_assets_per_manifest=500,
                               url_template="https://storage.googleapis.com/{bucket}/{name}")
    turn = Turn("f1", settings, Summary("f1"), ThreadPoolExecutor(IO_THREADS), lease_s=280.0, reconcile_budget=0)
    ledger = Ledger(store, "ledger/", each_generation=True)  # ON_OVERWRITE=import
    queue = RecordingQueue()
    claims = Claims(turn, ledger, SimpleNamespace(state_of=lambda path: None, results=None), queue,
                    lambda ref: ref.generation)
    # GIVEN one pull: 40 frames of a camera's latest.jpg (each its own generation) and one unrelated file
    items = [item("cams/latest.jpg", 1764000000000000 + g) for g in range(40)] + [item("other.jpg", 1)]
    for it in items:  # as Shipper.group does on admission
        claims.claim_early(it, "m1.json", DEST.project)
    # WHEN the group ships
    kept = claims.claim_all(items, "m1.json", DEST)
    turn.pool.shutdown(wait=True)
    failures = [repr(i.claim.exception()) for i in items if i.claim.exception() is not None]
    # THEN every object is carried (in particular the unrelated file), nothing deferred
    assert not failures, f"{len(failures)} claims failed on the name index: {failures[:2]}"
    assert len(kept) == len(items) and not queue.deferred, \
        f"kept {len(kept)} of {len(items)}; deferred {len(queue.deferred)} (other.jpg among them)"


def test_a_name_overwritten_every_three_seconds_does_not_hold_back_its_project_pull_after_pull():
    store = SlowStore()
    settings = SimpleNamespace(external_id_template="{name}#{generation}", max_assets_per_manifest=500,
                               url_template="https://storage.googleapis.com/{bucket}/{name}")
    waiting: list[Item] = []
    shipped_other = 0
    for pull in range(5):  # one flush a minute (Cloud Scheduler), each a new process state (a new Ledger)
        turn = Turn(f"f{pull}", settings, Summary(f"f{pull}"), ThreadPoolExecutor(IO_THREADS), lease_s=280.0,
                    reconcile_budget=0)
        ledger = Ledger(store, "ledger/", each_generation=True)
        queue = RecordingQueue()
        claims = Claims(turn, ledger, SimpleNamespace(state_of=lambda path: None, results=None), queue,
                        lambda ref: ref.generation)
        # GIVEN what was deferred, 20 new frames of latest.jpg (one each 3 s) and a file of another camera
        fresh = [item("cams/latest.jpg", 1764000000000000 + 100 * pull + g) for g in range(20)]
        items = [item(i.message.ref.name, i.message.ref.generation) for i in waiting] + fresh + \
            [item(f"cams/other-{pull}.jpg", 1)]
        for it in items:
            claims.claim_early(it, f"m{pull}.json", DEST.project)
        kept = claims.claim_all(items, f"m{pull}.json", DEST)
        turn.pool.shutdown(wait=True)
        shipped_other += any(i.message.ref.name.startswith("cams/other") for i in kept)
        waiting = [i for i in queue.deferred if i.message.ref.name == "cams/latest.jpg"]
    # THEN the other camera's files go in (at least one flush in five ships its group)
    assert shipped_other, "five flushes in a row gave the whole group back: the project is wedged behind one name"
