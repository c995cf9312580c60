"""Red team 27: the sweep of owed dead letters (flush/dead_letters.py `sweep_owed`, run.py
`_sweep_owed`) runs first in every flush that holds the lease, with no regard to the turn's
deadline, and `Subscription.dead_letter` waits PUBLISH_TIMEOUT_S (30 s) for EACH future in turn.
While publishes to the dead-letter topic time out (Pub/Sub retrying them longer than 30 s: the
very condition that leaves dead letters owed), one failed manifest owing 20 dead letters costs
20 x 30 s = 600 s per flush: the flush's budget is gone before it resumes, heals or pulls
anything, and the next flush sweeps the same manifest first (oldest first, stopping there). No
file is imported for as long as the dead-letter topic is unwell: the whole pipeline waits on a
side channel. (Before d7e1a9f only the rejected files' own messages paid that wait, in their group.)
(No network: in-memory state bucket, fakes of the Hub and Pub/Sub, a virtual clock.)"""
from __future__ import annotations

from concurrent.futures import TimeoutError as FutureTimeout

from hub_import.core import clock
from hub_import.core.assets import Asset
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import load
from hub_import.flush.run import Flush
from hub_import.state.manifests import FAILED, UNCONFIRMED, ManifestStore
from tests.unit.flush.test_flush_in_memory import DEST, ENV, Hub, ListingStore, Subscriber, message


class VirtualClock:
    def __init__(self):
        self.t = 1_764_000_000.0

    def time(self):
        return self.t

    def monotonic(self):
        return self.t

    def sleep(self, seconds):
        self.t += max(0.0, seconds)


class HungFuture:
    """A publish Pub/Sub keeps retrying: `result(timeout)` waits the whole timeout, then gives up."""

    def __init__(self, vclock):
        self.vclock = vclock

    def result(self, timeout=None):
        self.vclock.sleep(timeout or 0)
        raise FutureTimeout()


class HungPublisher:
    def __init__(self, vclock):
        self.vclock, self.published = vclock, 0

    def publish(self, topic, data, **attributes):
        self.published += 1
        return HungFuture(self.vclock)


def test_owed_dead_letters_that_cannot_be_published_do_not_stop_the_flush_importing():
    vclock = VirtualClock()
    with clock.use(vclock):
        settings = load(ENV)
        store = ListingStore()
        # GIVEN a failed manifest of 20 rejected files whose dead letters are still owed (Pub/Sub did
        # not confirm them), and publishes to the dead-letter topic that keep timing out
        refs = [ObjectRef("landing", f"x/{i}.pdf", 1, size=10) for i in range(20)]
        assets = [Asset(external_id=r.name, data=f"https://storage.googleapis.com/landing/{r.name}") for r in refs]
        manifests = ManifestStore(store, settings.manifest_prefix)
        manifests.create(manifests.new_path("f0", failed=True), DEST, assets, refs, "f0", 0, state=FAILED,
                         error="400 storage not found", **{UNCONFIRMED: [a.external_id for a in assets]})
        # AND one good file waiting in the subscription
        hub, publisher = Hub(), HungPublisher(vclock)
        subscriber = Subscriber([("a1", message("a.jpg"))])
        # WHEN the scheduled flush runs
        started = vclock.t
        summary = Flush(settings, hub, store, subscriber, publisher).run()
        # THEN the good file is imported within the flush's budget
        assert hub.imported == ["a.jpg"], (
            f"nothing imported: the sweep waited {vclock.t - started:.0f} s on {publisher.published} dead-letter "
            f"publishes (budget {settings.flush_budget_s} s); pulled={summary.pulled}, "
            f"budget_exhausted={summary.budget_exhausted}")
