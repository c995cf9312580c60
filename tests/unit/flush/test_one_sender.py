"""One sender at a time (issue 23): a flush slowed past its lease (a Hub that answers slowly and
keeps failing, on a virtual clock) must not send while the next flush, which takes the lease once
it has run out, sends. Every Hub request a flush starts must be able to end before its lease does.
(No network: a real HubClient over a scripted session for the slow flush; the clock seam.)"""
from __future__ import annotations

from hub_import.core import clock
from hub_import.core.settings import load
from hub_import.flush import heal
from hub_import.flush.run import Flush
from hub_import.hub import HubClient
from tests.unit.flush.test_flush_in_memory import ENV, Hub, ListingStore, Subscriber, message
from tests.unit.flush.test_result_messages import Publisher
from tests.unit.hub.test_hub_answers import answer

SETTINGS = load({**ENV, "FLUSH_BUDGET_SECONDS": "60", "HUB_TIMEOUT_SECONDS": "30"})
LEASE = f"{SETTINGS.ledger_prefix}leases/flush.json"
SLOW_ANSWER_S = 20  # every answer of the slow Hub takes this long (within HUB_TIMEOUT_SECONDS)


class VirtualClock:
    """Wall and monotonic time that move only when slept or advanced; `at_lease_end` runs once
    when time passes the first flush's lease (the scheduler starts the next flush then)."""

    def __init__(self):
        self.wall, self.mono, self.lease_until, self.at_lease_end = 1_800_000_000.0, 1000.0, None, None

    def time(self):
        return self.wall

    def monotonic(self):
        return self.mono

    def sleep(self, seconds):
        self.advance(max(0.0, seconds))

    def advance(self, seconds):
        self.wall += seconds
        self.mono += seconds
        if self.lease_until is not None and self.wall >= self.lease_until and self.at_lease_end:
            run, self.at_lease_end = self.at_lease_end, None
            run()


class SlowFailingHub:
    """A session: every answer takes SLOW_ANSWER_S; reads succeed, deletions fail with 503."""

    def __init__(self, vc: VirtualClock, store, sends: list):
        self.vc, self.store, self.sends, self.headers = vc, store, sends, {}

    def request(self, method, url, **kwargs):
        if method != "GET":
            lease = self.store.docs[LEASE].body if LEASE in self.store.docs else {}
            self.sends.append(("first", self.vc.wall, lease.get("owner"), float(lease.get("until", 0))))
        self.vc.advance(SLOW_ANSWER_S)
        if method == "GET":
            return answer(200, {"status": "success", "data": {"storages": []}})
        return answer(503, {"status": "error", "message": "try later"})

    def close(self):
        pass


class RecordingHub(Hub):
    def __init__(self, vc, sends):
        super().__init__()
        self.vc, self.sends = vc, sends

    def copies(self, *args, **kwargs):  # the check finds no second copy
        return {}

    def import_assets(self, project, assets, **kwargs):
        self.sends.append(("second", self.vc.wall, None, 0.0))
        super().import_assets(project, assets, **kwargs)


def test_a_flush_slowed_past_its_lease_never_sends_while_the_next_one_does():
    vc, store, sends = VirtualClock(), ListingStore(), []
    with clock.use(vc):
        # GIVEN a due check for a second copy (heal.py), whose extra copy the first flush deletes,
        # against a Hub that answers every request slowly and refuses deletions with 503s
        heal.schedule(store, SETTINGS, "manifests/m.json", "proj", [], since=0.0)
        hub = HubClient("https://hub.example", "k", requests_per_minute=0, read_timeout=30)
        hub.transport._session = SlowFailingHub(vc, store, sends)
        rows = [{"_id": "1", "data": "u", "createdAt": "2026-01-01T00:00:00Z"},
                {"_id": "2", "data": "u", "createdAt": "2026-01-02T00:00:00Z"}]
        hub.copies = lambda *args, **kwargs: {"a.jpg": rows}
        check = store.docs[next(p for p in store.docs if "/verify/" in p)].body
        check.update(assets={"a.jpg": "u"}, after=vc.wall)  # due now
        first = Flush(SETTINGS, hub, store, Subscriber(), Publisher(), flush_id="first")
        second_hub = RecordingHub(vc, sends)
        second = Flush(SETTINGS, second_hub, store, Subscriber([("m1", message("b.jpg"))]), Publisher(),
                       flush_id="second")
        real_acquire = first.lease.acquire

        def acquire(ttl_s):  # the scheduler starts the next flush when the first one's lease runs out
            held = real_acquire(ttl_s)
            vc.lease_until, vc.at_lease_end = float(store.docs[LEASE].body["until"]), second.run
            return held
        first.lease.acquire = acquire
        # WHEN the first flush runs (and the second one starts when its lease has run out, or after it)
        first.run()
        if vc.at_lease_end:
            vc.at_lease_end = None
            second.run()
    # THEN the second flush sent, and the first sent only under its own lease, each request able to
    # end before the lease does, and never after the second began to send
    assert second_hub.imported == ["b.jpg"]
    firsts = [s for s in sends if s[0] == "first"]
    assert firsts, "the first flush tried to delete the extra copy"
    order = [who for who, *_ in sends]
    assert "first" not in order[order.index("second"):], order
    for _, at, owner, until in firsts:
        assert owner == "first" and at + SETTINGS.hub_timeout_s <= until, (at, owner, until)
