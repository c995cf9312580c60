"""The deletion guard (ON_DELETE=delete, MAX_DELETIONS_PER_HOUR): past the limit in a rolling hour a
deletion is held, not carried out, until a person approves or discards it. (No network: the state
bucket is a dict, the Hub a list of rows read through the real client's lookup, the clock virtual;
`deletions --approve` publishes to a recording publisher, whose messages the next flush pulls.)"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from google.api_core import exceptions

from hub_import.core import clock
from hub_import.core.messages import DeletionMessage, decode_message
from hub_import.core.objects import ObjectRef
from hub_import.flush.deleter import Deleter
from hub_import.flush.deletion_guard import DeletionGuard
from hub_import.flush.soft_delete import SoftDeleter
from hub_import.flush.summary import Summary
from hub_import.flush.turn import Turn
from hub_import.ops import deletions
from hub_import.state.held_deletions import CLOCK_MARGIN_S, DeletionWindow, HeldDeletions
from hub_import.state.ledger import Ledger
from tests.unit.flush.test_deletions_listing import ListingHub, VirtualClock
from tests.unit.flush.test_early_claims import RecordingQueue, Store
from tests.unit.flush.test_result_messages import Publisher

PROJECT = "proj"
URL = "https://storage.googleapis.com/landing/{name}"
SETTINGS = dict(external_id_template="{name}", url_template="https://storage.googleapis.com/{bucket}/{name}",
                delete_follows=True, settle_s=40.0, requests_per_minute=0, manifest_prefix="manifests/",
                ledger_prefix="ledger/", topic_path="projects/p/topics/assets", each_generation=False)


class World:
    """A state bucket, a Hub and a landing bucket (`live`: name -> live generation) shared by the
    flushes `flush()` builds, each with its deleter and guard composed as Flush composes them."""

    def __init__(self, limit: int = 1000):
        self.settings = SimpleNamespace(**SETTINGS, max_deletions_per_hour=limit)
        self.store, self.hub, self.live = Store(), ListingHub(), {}
        self.publisher = Publisher()
        self.ledger = Ledger(self.store, "ledger/", False)
        self.held = HeldDeletions(self.store, "ledger/")
        self.n = 0

    def imported(self, names: list[str]) -> dict[str, ObjectRef]:
        refs = {n: ObjectRef("landing", n, 1) for n in names}
        for name, ref in refs.items():
            self.ledger.claim(ref, "m1.json", "f0", name, project=PROJECT, data=URL.format(name=name))
            self.hub.add(name, URL.format(name=name))
        self.ledger.mark_sent("m1.json", len(names))
        return refs

    def flush(self, messages: list[DeletionMessage]):
        """One flush's deleter over `messages` (one pull); its queue (acked, deferred) and summary."""
        self.n += 1
        turn = Turn(f"f{self.n}", self.settings, Summary(f"f{self.n}"), ThreadPoolExecutor(4), lease_s=60.0,
                    reconcile_budget=100)
        queue = RecordingQueue()
        ledger = Ledger(self.store, "ledger/", False)
        manifests = SimpleNamespace(state_of=lambda path: None, results=None, store=self.store)
        live = self.live.get  # noqa: E731
        guard = DeletionGuard(turn, ledger, HeldDeletions(self.store, "ledger/"), DeletionWindow(self.store, "ledger/"))
        soft = SoftDeleter(turn, self.hub, ledger, manifests, queue, lambda ref: live(ref.name), guard)
        deleter = Deleter(turn, ledger, manifests, queue, soft, lambda ref: live(ref.name), guard)
        deleter.delete_objects([(m, f"ack-{self.n}-{i}") for i, m in enumerate(messages)])
        return queue, turn.summary

    def delete(self, refs) -> tuple:
        return self.flush([DeletionMessage(r, "deleted", f"e-{r.name}") for r in refs])

    def approved_messages(self) -> list[DeletionMessage]:
        """What `deletions --approve` queued so far (and not yet taken)."""
        out = [decode_message(data) for _, data, _ in self.publisher.sent]
        self.publisher.sent.clear()
        return out

    def state(self, ref) -> str:
        return self.ledger.read(ref).body["state"]

    def held_count(self) -> int:
        return len(list(self.held.paths()))


def names(n: int, start: int = 0) -> list[str]:
    return [f"d/{i:05d}.png" for i in range(start, start + n)]


def test_a_folder_of_1200_deleted_under_the_default_limit_deletes_1000_and_holds_200_until_approved():
    with clock.use(VirtualClock()):
        # GIVEN 1,200 files in the Hub, MAX_DELETIONS_PER_HOUR at its default (1,000)
        world = World()
        refs = world.imported(names(1200))
        # WHEN the folder is deleted from the bucket, and a flush takes the 1,200 deletions
        queue, summary = world.delete(refs.values())
        # THEN 1,000 assets are soft-deleted, 200 held: recorded, acked, their assets still in the Hub
        assert len(world.hub.deleted) == 1000 and len(world.hub.assets) == 200
        assert summary.deleted_assets == 1000 and summary.deletions_held == 200
        assert len(queue.acked) == 1200 and queue.deferred == []
        assert world.held_count() == 200
        kept = {a["externalId"] for a in world.hub.assets}
        assert {world.state(refs[n]) for n in kept} == {"claimed"}  # the ledger is untouched (its manifest sent)
        assert deletions.held(world.settings, world.store).count == 200
        # WHEN a person approves, and the next flush takes what approve queued
        report = deletions.approve(world.settings, world.store, world.publisher)
        assert (report.done, report.failed) == (200, 0)
        approved = world.approved_messages()
        assert len(approved) == 200 and {m.source for m in approved} == {"approved"}
        assert {m.ref.name for m in approved} == kept
        queue, summary = world.flush(approved)
        # THEN the 200 are carried out past the limit, once each; nothing is held any more
        assert len(world.hub.deleted) == 1200 and world.hub.assets == []
        assert len(set(world.hub.deleted)) == 1200
        assert summary.deletions_held == 0 and len(queue.acked) == 200
        assert world.held_count() == 0
        assert {world.state(refs[n]) for n in kept} == {"deleted"}
        # AND the same approved messages delivered again, or approve run again, delete nothing more
        calls = len(world.hub.deleted)
        queue, _ = world.flush(approved)
        assert len(world.hub.deleted) == calls and len(queue.acked) == 200
        assert deletions.approve(world.settings, world.store, world.publisher).done == 0


def test_discard_keeps_the_assets_and_an_approval_queued_before_it_deletes_nothing():
    with clock.use(VirtualClock()):
        # GIVEN 5 files deleted under a limit of 3: 2 held, approved (queued), then discarded
        world = World(limit=3)
        refs = world.imported(names(5))
        world.delete(refs.values())
        held = {a["externalId"] for a in world.hub.assets}
        assert len(held) == 2 and world.held_count() == 2
        deletions.approve(world.settings, world.store, world.publisher)
        report = deletions.discard(world.settings, world.store)
        # THEN discard says what it dropped, the ledger is untouched, the assets stay
        assert report.done == 2 and "2 held deletion(s) discarded" in report.line()
        assert world.held_count() == 0
        assert {world.state(refs[n]) for n in held} == {"claimed"}
        # AND the approved messages, taken by a flush after the discard, delete nothing: acked
        queue, summary = world.flush(world.approved_messages())
        assert {a["externalId"] for a in world.hub.assets} == held and len(queue.acked) == 2
        assert summary.deletions_held == 0


def test_a_file_uploaded_again_while_its_deletion_is_held_wins():
    with clock.use(VirtualClock()):
        # GIVEN 2 files deleted under a limit of 1: b's deletion held
        world = World(limit=1)
        refs = world.imported(["a.png", "b.png"])
        world.delete(refs.values())
        [held] = [a["externalId"] for a in world.hub.assets]
        # WHEN the held name is uploaded again (a live generation), then the deletion approved
        world.live[held] = 2
        deletions.approve(world.settings, world.store, world.publisher)
        queue, _ = world.flush(world.approved_messages())
        # THEN nothing is deleted: the asset (its URL shows the new upload) stays; the held record goes
        assert [a["externalId"] for a in world.hub.assets] == [held]
        assert len(queue.acked) == 1 and world.held_count() == 0
        assert world.state(refs[held]) == "claimed"


def test_the_rolling_hour_lets_deletions_resume_after_an_hour_and_held_ones_wait_for_a_person():
    with clock.use(VirtualClock()) as now:
        # GIVEN a limit of 10 an hour
        world = World(limit=10)
        refs = world.imported(names(30))
        batches = [list(refs.values())[i:i + 10] for i in (0, 10, 20)]
        # WHEN 15 are deleted: 10 carried out, 5 held
        _, summary = world.delete(batches[0] + batches[1][:5])
        assert len(world.hub.deleted) == 10 and summary.deletions_held == 5
        # AND 30 minutes later 5 more: the hour is still full, all held
        now.sleep(1800)
        _, summary = world.delete(batches[1][5:])
        assert len(world.hub.deleted) == 10 and summary.deletions_held == 5
        # AND once the first deletions are more than an hour old (and the clock margin), deletions go through again
        now.sleep(1800 + 61 + CLOCK_MARGIN_S)
        _, summary = world.delete(batches[2][:5])
        assert len(world.hub.deleted) == 15 and summary.deletions_held == 0
        # AND the 10 held meanwhile stay held until a person decides
        assert world.held_count() == 10


def test_a_message_claiming_approval_without_an_approved_record_is_held_again():
    with clock.use(VirtualClock()):
        # GIVEN a deletion held (limit 1), and someone who can publish forging its approval
        world = World(limit=1)
        refs = world.imported(["a.png", "b.png"])
        world.delete(refs.values())
        [held] = [a["externalId"] for a in world.hub.assets]
        forged = DeletionMessage(refs[held], "deleted", "forged", source="approved")
        # WHEN a flush takes it
        queue, summary = world.flush([forged])
        # THEN it stays held, nothing deleted
        assert [a["externalId"] for a in world.hub.assets] == [held] and world.held_count() == 1
        assert summary.deletions_held == 1 and len(queue.acked) == 1


def test_no_limit_holds_nothing():
    with clock.use(VirtualClock()):
        world = World(limit=0)
        refs = world.imported(names(50))
        _, summary = world.delete(refs.values())
        assert len(world.hub.deleted) == 50 and summary.deletions_held == 0 and world.held_count() == 0


def test_a_window_that_cannot_be_read_holds_nothing_and_deletes_nothing_the_deletions_come_back():
    with clock.use(VirtualClock()):
        world = World(limit=10)
        refs = world.imported(names(3))
        read = world.store.read

        def failing(path):
            if path.endswith("deletion-window.json"):
                raise exceptions.ServiceUnavailable("injected")
            return read(path)
        world.store.read = failing
        queue, summary = world.delete(refs.values())
        assert world.hub.deleted == [] and world.held_count() == 0 and queue.acked == []
        assert len(queue.deferred) == 3
        world.store.read = read
        world.delete(refs.values())
        assert len(world.hub.deleted) == 3
