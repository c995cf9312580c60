"""A file the Hub rejects is acked only once its dead letter is confirmed (issue 23): when Pub/Sub
does not confirm it, the message is not acked, the failed manifest says the dead letter is owed,
and when the message comes back it is dead-lettered then, and acked, instead of being acked as a
duplicate of its `failed` ledger record. (No network: the flush over in-memory fakes.)"""
from __future__ import annotations

from concurrent.futures import Future

from hub_import.core.settings import load
from hub_import.flush.run import Flush
from hub_import.hub import HubRejectedError
from tests.unit.flush.test_flush_in_memory import ENV, Hub, ListingStore, Subscriber, message

SETTINGS = load(ENV)
UNCONFIRMED = "dead_letters_unconfirmed"  # a failed manifest's state field (state/manifests.py)


class RejectingHub(Hub):
    """Takes every import but one of `bad`, which it rejects (400, naming no asset)."""

    def __init__(self, bad: str):
        super().__init__()
        self.bad = bad

    def import_assets(self, project, assets, **kwargs):
        if any(a.external_id == self.bad for a in assets):
            self.calls += 1
            raise HubRejectedError("an asset is invalid", assets)
        super().import_assets(project, assets, **kwargs)


class Publisher:
    """Results go out; dead letters fail (their futures raise) while `dead_letters_fail`."""

    def __init__(self, dead_letters_fail: bool):
        self.dead_letters_fail, self.dead_letters = dead_letters_fail, []

    def publish(self, topic, data, **attributes):
        future = Future()
        if topic == SETTINGS.dead_letter_topic_path:
            if self.dead_letters_fail:
                future.set_exception(RuntimeError("503 the service is unavailable"))
                return future
            self.dead_letters.append(attributes)
        future.set_result("id")
        return future


def failed_manifest_state(store) -> dict:
    [state] = [d.body for p, d in store.docs.items() if p.endswith("-failed.state.json")]
    return state


def test_a_rejected_file_is_not_acked_until_its_dead_letter_is_confirmed():
    # GIVEN two files, one of which the Hub rejects, and a dead-letter topic that fails to publish
    store, hub = ListingStore(), RejectingHub("bad.jpg")
    first = Subscriber([("good-1", message("good.jpg")), ("bad-1", message("bad.jpg"))])
    # WHEN a flush imports them
    summary = Flush(SETTINGS, hub, store, first, Publisher(dead_letters_fail=True)).run()
    # THEN the good one is in the Hub and acked; the rejected one is in a failed manifest that owes
    # its dead letter, and its message is not acked (it comes back)
    assert hub.imported == ["good.jpg"] and summary.failed == 1 and summary.dead_lettered == 0
    assert first.acked == ["good-1"]
    assert failed_manifest_state(store).get(UNCONFIRMED) == ["bad.jpg"]

    # WHEN its message comes back to a flush whose dead letters go out
    publisher = Publisher(dead_letters_fail=False)
    again = Subscriber([("bad-2", message("bad.jpg"))])
    summary = Flush(SETTINGS, hub, store, again, publisher).run()
    # THEN it is dead-lettered, with the Hub's reason, then acked; it is not sent again
    assert [(a["name"], a["reason"]) for a in publisher.dead_letters] == [("bad.jpg", "Hub rejected: an asset is invalid")]
    assert again.acked == ["bad-2"] and summary.dead_lettered == 1 and hub.imported == ["good.jpg"]
    assert failed_manifest_state(store).get(UNCONFIRMED) == []

    # AND a later copy of it, its dead letter confirmed, is a plain duplicate
    later, publisher = Subscriber([("bad-3", message("bad.jpg"))]), Publisher(dead_letters_fail=False)
    Flush(SETTINGS, hub, store, later, publisher).run()
    assert later.acked == ["bad-3"] and publisher.dead_letters == []


def test_a_rejected_file_whose_dead_letter_is_confirmed_is_acked_at_once():
    store, hub, publisher = ListingStore(), RejectingHub("bad.jpg"), Publisher(dead_letters_fail=False)
    subscriber = Subscriber([("good-1", message("good.jpg")), ("bad-1", message("bad.jpg"))])
    Flush(SETTINGS, hub, store, subscriber, publisher).run()
    assert sorted(subscriber.acked) == ["bad-1", "good-1"] and [a["name"] for a in publisher.dead_letters] == ["bad.jpg"]
    assert failed_manifest_state(store).get(UNCONFIRMED) == []
