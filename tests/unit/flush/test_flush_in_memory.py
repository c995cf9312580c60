"""A whole flush (`Flush.run`, its parts composed as deployed) over an in-memory state bucket and
fakes of the Hub and Pub/Sub: what it imports, acks and counts. (No network.)

It also builds the flush over a store that is not a JsonStore, as `make bench` does (its
CountingStore wraps one): the review of the flush's composition found that building a Flush had
begun to read the store's GCS client, which only a deletion needs, and every bench case died."""
from __future__ import annotations

from types import SimpleNamespace

from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.settings import load
from hub_import.flush.run import Flush
from tests.bench.bench import CountingStore
from tests.unit.flush.test_early_claims import Store
from tests.unit.flush.test_result_messages import Publisher

ENV = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing", "HUB_API_KEY": "k",
       "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st", "HUB_BATCHES": "incoming", "HUB_CREATE_BATCHES": "true",
       "PUBSUB_EMULATOR_HOST": "127.0.0.1:9"}
DEST = Destination(project="proj", storage="st", batches=("incoming",))


class Hub:
    """Takes every import; counts nothing else."""

    def __init__(self):
        self.calls, self.transport, self.imported = 0, SimpleNamespace(clock_offset=0.0), []

    def ping(self, deadline=None):
        pass

    def batch_ids(self, project, names, **kwargs):
        return tuple(names)

    def prepare_batches(self, project, wanted, **kwargs):
        pass

    def import_assets(self, project, assets, **kwargs):
        self.calls += 1
        self.imported += [a.external_id for a in assets]


class Subscriber:
    """Hands out `batches` one pull at a time, then nothing; records acks."""

    def __init__(self, *batches):
        self.batches, self.acked = list(batches), []

    def pull(self, **kwargs):
        batch = self.batches.pop(0) if self.batches else []
        return SimpleNamespace(received_messages=[
            SimpleNamespace(ack_id=ack_id, message=SimpleNamespace(data=data, attributes=attributes))
            for ack_id, (data, attributes) in batch])

    def acknowledge(self, subscription, ack_ids):
        self.acked += ack_ids

    def modify_ack_deadline(self, **kwargs):
        pass


class ListingStore(Store):
    def list(self, prefix, page_size=1000):  # a generator, as JsonStore's
        return iter(super().list(prefix))


def message(name: str, generation: int = 1):
    return ObjectMessage(ObjectRef("landing", name, generation, size=10), DEST, (10, 10)).encode()


def test_a_flush_imports_each_object_once_and_acks_every_message_for_it():
    # GIVEN two objects, one of them delivered twice (in the same pull and in the next)
    hub = Hub()
    subscriber = Subscriber([("a1", message("a.jpg")), ("b1", message("b.jpg")), ("a2", message("a.jpg"))],
                            [("a3", message("a.jpg"))])
    # WHEN one flush runs, over a wrapped store as the bench builds it
    summary = Flush(load(ENV), hub, CountingStore(ListingStore()), subscriber, Publisher()).run()
    # THEN each object is imported once, every message acked, the duplicates counted
    assert sorted(hub.imported) == ["a.jpg", "b.jpg"] and hub.calls == 1
    assert sorted(subscriber.acked) == ["a1", "a2", "a3", "b1"]
    assert (summary.pulled, summary.sent, summary.duplicates) == (4, 2, 2)
