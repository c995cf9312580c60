"""Red team 5: ON_OVERWRITE=import, where each generation is an asset of its own. b.png's gen-1
deletion (no generation live then) is held; while it is held, gen 2 is uploaded and imported as a
second asset. `deletions --approve` queues gen 1's deletion, and the deleter finds a generation of
the name live: it finishes it "overwritten" and drops the held record, so gen 1's asset stays
beside gen 2's. Decided, not fixed: it is the rule for every deletion (README, "What counts as a
deletion"): a deletion counts only while no generation of the name is live right before the Hub
call, because an asset's data URL names the file, not a generation, and shows the new content
already; a file deleted and uploaded again before the flush keeps its asset in the same way. The
guard only made the flush later. What must hold: nothing is lost without a word: the outcome is
said, the held record goes, gen 2's asset is untouched, and a later deletion of the name (nothing
live) deletes what the ledger names."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from hub_import.core import clock
from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.flush.deleter import Deleter
from hub_import.flush.deletion_guard import DeletionGuard
from hub_import.flush.soft_delete import SoftDeleter
from hub_import.flush.summary import Summary
from hub_import.flush.turn import Turn
from hub_import.ops import deletions
from hub_import.state.held_deletions import DeletionWindow, HeldDeletions
from hub_import.state.ledger import Ledger
from tests.unit.flush.test_deletion_guard import PROJECT, URL, World
from tests.unit.flush.test_deletions_listing import VirtualClock
from tests.unit.flush.test_early_claims import RecordingQueue


class ImportWorld(World):
    """World under ON_OVERWRITE=import: a ledger record, and an asset (`name#generation`), per generation."""

    def __init__(self, limit):
        super().__init__(limit)
        self.settings.each_generation = True
        self.settings.external_id_template = "{name}#{generation}"
        self.ledger = Ledger(self.store, "ledger/", True)

    def imported_generation(self, name: str, generation: int, manifest: str) -> ObjectRef:
        ref = ObjectRef("landing", name, generation)
        self.ledger.claim(ref, manifest, "f0", f"{name}#{generation}", project=PROJECT, data=URL.format(name=name))
        self.hub.add(f"{name}#{generation}", URL.format(name=name))
        self.ledger.mark_sent(manifest, 1)
        return ref

    def flush(self, messages):
        self.n += 1
        turn = Turn(f"f{self.n}", self.settings, Summary(f"f{self.n}"), ThreadPoolExecutor(4), lease_s=60.0,
                    reconcile_budget=100)
        queue, ledger = RecordingQueue(), Ledger(self.store, "ledger/", True)
        manifests = type("M", (), {"state_of": staticmethod(lambda p: None), "results": None, "store": self.store})()
        live = self.live.get  # noqa: E731
        guard = DeletionGuard(turn, ledger, HeldDeletions(self.store, "ledger/"), DeletionWindow(self.store, "ledger/"))
        soft = SoftDeleter(turn, self.hub, ledger, manifests, queue, lambda ref: live(ref.name), guard)
        Deleter(turn, ledger, manifests, queue, soft, lambda ref: live(ref.name), guard).delete_objects(
            [(m, f"ack-{self.n}-{i}") for i, m in enumerate(messages)])
        return queue, turn.summary


def test_an_approved_deletion_of_a_name_uploaded_again_meanwhile_is_an_overwrite_as_any_deletion():
    with clock.use(VirtualClock()):
        world = ImportWorld(limit=1)
        a = world.imported_generation("a.png", 1, "m1.json")
        b1 = world.imported_generation("b.png", 1, "m2.json")
        # GIVEN a.png and b.png deleted (nothing live): a's deletion carried out, b's gen 1 held
        world.flush([DeletionMessage(a, "deleted", "e-a"), DeletionMessage(b1, "deleted", "e-b1")])
        assert [x["externalId"] for x in world.hub.assets] == ["b.png#1"] and world.held_count() == 1
        # AND while it is held, b.png is uploaded again: gen 2 imported as an asset of its own
        world.live["b.png"] = 2
        world.imported_generation("b.png", 2, "m3.json")
        # WHEN a person approves, and a flush takes the approval
        deletions.approve(world.settings, world.store, world.publisher)
        world.flush(world.approved_messages())
        # THEN as for any deletion the flush finds uploaded again: an overwrite, the assets stay, nothing held
        assert [x["externalId"] for x in world.hub.assets] == ["b.png#1", "b.png#2"] and world.held_count() == 0
        assert world.hub.deleted and all(world.hub.deleted)  # (a.png's)
        # AND once the name leaves the bucket for good, its deletion takes gen 2's asset (a deletion of its own)
        del world.live["b.png"]
        b2 = ObjectRef("landing", "b.png", 2)
        _, summary = world.flush([DeletionMessage(b2, "deleted", "e-b2")])
        assert "b.png#2" not in [x["externalId"] for x in world.hub.assets] or summary.deletions_held == 1
