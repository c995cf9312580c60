"""Red team 4 (issue 22): a forged message naming another bucket is dead-lettered by the flush
(core/admission.py). `replay --dead-letters` must not take it for one that can go through now: it
would create the batches its forged metadata fills a template with (`cam-{meta.camera}`), in the
Hub, for an object this deployment never imports, and republish it, to be refused again at every
replay. It stays, saying why. (A Flush over the in-memory fakes; no network.)"""
from __future__ import annotations

from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.settings import load
from hub_import.flush.dead_letters import DeadLetter
from hub_import.flush.run import Flush
from hub_import.ops.dead_letter_inbox import verdict
from tests.unit.flush.test_flush_in_memory import ENV, Hub, ListingStore, Subscriber
from tests.unit.flush.test_result_messages import Publisher


class BatchHub(Hub):
    """Remembers each batch name it was asked to resolve (or create)."""

    def __init__(self):
        super().__init__()
        self.asked = []

    def batch_ids(self, project, names, **kwargs):
        self.asked += list(names)
        return super().batch_ids(project, names, **kwargs)


def test_a_dead_letter_for_another_bucket_is_kept_and_makes_no_batch():
    # GIVEN a templated batch name, and the dead letter of a forged message for another bucket
    settings = load({**ENV, "HUB_BATCHES": "cam-{meta.camera}"})
    hub = BatchHub()
    flush = Flush(settings, hub, ListingStore(), Subscriber([]), Publisher())
    ref = ObjectRef("confidential-bucket", "hr/salaries.jpg", 1, size=10, metadata={"camera": "chosen-by-forger"})
    data, attributes = ObjectMessage(ref, Destination("victim", "st", ())).encode()
    letter = DeadLetter("a1", "m1", data, attributes,
                        "refused: bucket confidential-bucket is not the landing bucket (landing)")
    # WHEN replay --dead-letters judges it
    action, why, _ = verdict(flush, letter, {})
    # THEN it stays, saying why, and no batch was resolved or created for it
    assert action == "keep" and "not the landing bucket" in why
    assert hub.asked == []
