"""A flush with HUB_STORAGE_ID empty finds the landing bucket's storage integration in the Hub. While
there is none (or more than one) it pulls nothing, acks nothing and says why, so the files wait in
the subscription without spending delivery attempts; once there is one, they go in bound to it,
and each flush asks again, so an integration made again under a new id is used at once. (No
network: in-memory fakes.)"""
from __future__ import annotations

import logging

from hub_import.core.bucket_storage import waiting_line
from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.settings import load
from hub_import.flush.run import Flush
from hub_import.state.storage_record import StorageRecord
from tests.unit.flush.test_flush_in_memory import ENV, Hub, ListingStore, Subscriber
from tests.unit.flush.test_result_messages import Publisher

SETTINGS = load({**ENV, "HUB_STORAGE_ID": ""})
BARE = Destination(project="proj", batches=("incoming",))  # as ingest queues it while the id is empty


class StoragesHub(Hub):
    """Takes every import, keeping each asset's storage; lists `rows` as its storage integrations."""

    def __init__(self, *rows):
        super().__init__()
        self.rows, self.listed, self.storage_of = list(rows), 0, {}

    def storages(self, deadline=None):
        self.listed += 1
        return list(self.rows)

    def import_assets(self, project, assets, **kwargs):
        super().import_assets(project, assets, **kwargs)
        self.storage_of.update({a.external_id: a.storage for a in assets})


class CountingSubscriber(Subscriber):
    def __init__(self, *batches):
        super().__init__(*batches)
        self.pulls = 0

    def pull(self, **kwargs):
        self.pulls += 1
        return super().pull(**kwargs)


def queued(*names):
    return [(f"ack-{n}", ObjectMessage(ObjectRef("landing", n, 1, size=10), BARE, (10, 10)).encode()) for n in names]


def flush(hub, subscriber, store):
    return Flush(SETTINGS, hub, store, subscriber, Publisher()).run()


def waiting_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("waiting for a Hub storage")]


def test_without_an_integration_the_flush_pulls_nothing_acks_nothing_and_says_why(caplog):
    caplog.set_level(logging.INFO, logger="hub_import")
    hub, store = StoragesHub({"_id": "elsewhere", "type": "gcs", "bucket": "another-bucket"}), ListingStore()
    subscriber = CountingSubscriber(queued("a.jpg", "b.jpg"))
    summary = flush(hub, subscriber, store)
    assert subscriber.pulls == 0 and subscriber.acked == [] and hub.imported == []
    assert summary.pulled == 0 and summary.storage_waiting == waiting_line("landing")
    assert waiting_lines(caplog) == [waiting_line("landing")]
    finding, _ = StorageRecord(store, SETTINGS.ledger_prefix).read()
    assert finding.state == "waiting" and finding.bucket == "landing"
    # AND the next flush asks the Hub again, and says it again: one line per flush
    flush(hub, subscriber, store)
    assert hub.listed == 2 and subscriber.pulls == 0 and len(waiting_lines(caplog)) == 2


def test_once_the_integration_exists_the_waiting_files_go_in_bound_to_it():
    hub, store = StoragesHub(), ListingStore()
    subscriber = CountingSubscriber(queued("a.jpg", "b.jpg"))
    assert flush(hub, subscriber, store).storage_waiting
    # WHEN someone creates the integration in the Hub
    hub.rows.append({"_id": "made-in-the-ui", "type": "gcs", "bucket": "landing"})
    summary = flush(hub, subscriber, store)
    # THEN the files go in once each, with its id, and every message is acked
    assert summary.storage_waiting == "" and summary.sent == 2
    assert hub.storage_of == {"a.jpg": "made-in-the-ui", "b.jpg": "made-in-the-ui"}
    assert sorted(subscriber.acked) == ["ack-a.jpg", "ack-b.jpg"]
    assert StorageRecord(store, SETTINGS.ledger_prefix).read()[0].storage_id == "made-in-the-ui"
    flush(hub, CountingSubscriber(queued("c.jpg")), store)
    assert hub.storage_of["c.jpg"] == "made-in-the-ui"


def test_an_integration_made_again_under_a_new_id_is_used_by_the_next_flush_of_the_same_process():
    # GIVEN a flush process that found the integration and sent with it (red team, issue 18: a warm
    # instance kept the old id, and every new file was dead-lettered by the Hub)
    hub, store = StoragesHub({"_id": "old", "bucket": "landing"}), ListingStore()
    flush(hub, CountingSubscriber(queued("a.jpg")), store)
    # WHEN the user deletes it and makes it again (a new reader key, say)
    hub.rows[:] = [{"_id": "new", "bucket": "landing"}]
    subscriber = CountingSubscriber(queued("b.jpg"))
    summary = flush(hub, subscriber, store)
    # THEN the next flush sends with the new id, and status reads the new one
    assert hub.storage_of == {"a.jpg": "old", "b.jpg": "new"} and summary.sent == 1 and summary.failed == 0
    assert StorageRecord(store, SETTINGS.ledger_prefix).read()[0].storage_id == "new"
    # AND a second integration added later stops the next flush, named, instead of going unnoticed
    hub.rows.append({"_id": "second", "bucket": "landing"})
    subscriber = CountingSubscriber(queued("c.jpg"))
    assert "(new, second)" in flush(hub, subscriber, store).storage_waiting and subscriber.pulls == 0


def test_two_integrations_on_the_bucket_are_refused_by_name_and_nothing_is_pulled(caplog):
    caplog.set_level(logging.INFO, logger="hub_import")
    hub = StoragesHub({"_id": "one", "bucket": "landing"}, {"_id": "two", "bucket": "landing"})
    subscriber = CountingSubscriber(queued("a.jpg"))
    summary = flush(hub, subscriber, ListingStore())
    assert subscriber.pulls == 0 and subscriber.acked == [] and hub.imported == []
    assert "(one, two)" in summary.storage_waiting
    [line] = [r for r in caplog.records if "(one, two)" in r.getMessage()]
    assert line.levelname == "ERROR"


def test_a_waiting_flush_writes_its_record_once_not_every_minute():
    hub, store = StoragesHub(), ListingStore()
    path = f"{SETTINGS.ledger_prefix}storage.json"
    flush(hub, CountingSubscriber(), store)
    first = store.docs[path].generation
    for _ in range(2):
        flush(hub, CountingSubscriber(), store)
    assert store.docs[path].generation == first  # the same finding: read, not written again
    hub.rows.append({"_id": "new", "bucket": "landing"})
    flush(hub, CountingSubscriber(), store)
    assert store.docs[path].generation != first and store.docs[path].body["state"] == "found"


def test_a_configured_storage_id_is_used_as_it_is_and_the_hub_is_not_asked():
    hub = StoragesHub()
    settings = load(ENV)  # HUB_STORAGE_ID=st
    subscriber = CountingSubscriber(queued("a.jpg"))  # queued while it was empty: bound to the override now
    Flush(settings, hub, ListingStore(), subscriber, Publisher()).run()
    assert hub.listed == 0 and hub.storage_of == {"a.jpg": "st"}
