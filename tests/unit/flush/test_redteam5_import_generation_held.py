"""Red team 5: ON_OVERWRITE=import, where each generation is an asset of its own. b.png's gen-1
deletion (no generation live then) is held; while it is held, gen 2 is uploaded and imported as a
second asset. `deletions --approve` queues gen 1's deletion, the deleter finds a generation of the
name live and finishes it "overwritten" (the rule for one asset per name, whose URL shows the new
content) and drops the held record: gen 1's asset stays in the Hub for good beside gen 2's, though
gen 1 left the bucket while nothing was live, with nothing held and nothing queued. Without the
guard it would have been deleted before gen 2 came. (A later deletion of gen 2 queues gen 2 only;
`sweep --deletions` skips the name while gen 2 is live.)"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

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


@pytest.mark.xfail(strict=True, reason="red team 5: under ON_OVERWRITE=import a held deletion approved after the "
                   "name was uploaded again is finished 'overwritten': its own generation's asset stays for good")
def test_an_approved_deletion_of_an_imported_generation_deletes_that_generations_asset():
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
        # THEN gen 1's asset is deleted (gen 1 left while nothing was live), gen 2's stays; or it is still held
        assert [x["externalId"] for x in world.hub.assets] == ["b.png#2"] or world.held_count() == 1, \
            f"assets {[x['externalId'] for x in world.hub.assets]}, {world.held_count()} held, nothing queued"
