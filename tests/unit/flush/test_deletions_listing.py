"""Deletions judged against a listing that is not the whole truth (hub_quirks.py): one that lags the
imports (a search index behind the database: the stand-in's `list_lag_s`), and one whose rows show
no `data` URL (`list_data`). An asset sent moments ago and not listed yet is looked for again, not
taken as gone; a row that cannot be proven ours (an asset made by hand under the same externalId)
is never deleted, by a deletion or by heal. (No network: the state bucket is a dict, the Hub a list
of rows read through the real reconcile, the clock a virtual one.)"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from hub_import.core import clock
from hub_import.core.hub_quirks import Behaviour
from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.flush import heal
from hub_import.flush.deleter import Deleter
from hub_import.flush.soft_delete import SoftDeleter
from hub_import.flush.summary import Summary
from hub_import.flush.turn import Turn
from hub_import.hub import HubClient
from hub_import.state.ledger import Ledger
from tests.unit.flush.test_early_claims import RecordingQueue, Store

PROJECT, SETTLE_S, LAG_S = "proj", 40.0, 30.0
URL = "https://storage.googleapis.com/landing/{name}"


class VirtualClock:
    def __init__(self, start: float = 1_764_000_000.0):
        self.t = start

    def time(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class ListingHub:
    """A Hub project as its listing shows it: assets created less than `lag_s` ago are hidden, and
    with `data=False` rows carry no `data`. `copies` is the real client's (the real reconcile)."""

    list_limit, calls = 100, 0
    copies = HubClient.copies

    def __init__(self, lag_s: float = 0.0, data: bool = True):
        self.lag_s, self.data = lag_s, data
        self.assets: list[dict] = []  # every live asset, oldest first (the judge's view)
        self.behaviour = Behaviour()
        self.transport = SimpleNamespace(deadline=lambda deadline: deadline)
        self.deleted: list[str] = []

    def add(self, external_id: str, data: str) -> str:
        asset_id = f"id{len(self.assets) + len(self.deleted)}"
        self.assets.append({"_id": asset_id, "externalId": external_id, "data": data, "at": clock.now()})
        return asset_id

    def list_assets(self, project, *, page=1, limit=100, filters=None, deadline=None):
        rows = [{k: v for k, v in a.items() if k != "at" and (self.data or k != "data")}
                for a in self.assets if a["at"] <= clock.now() - self.lag_s
                and (not filters or a["externalId"] == filters.get("externalId"))]
        return rows[(page - 1) * limit: page * limit], len(rows)

    def soft_delete(self, project, asset_ids, *, deadline=None):
        self.delete_assets(project, asset_ids)

    def delete_assets(self, project, asset_ids, deadline=None):
        self.deleted += [i for i in asset_ids if any(a["_id"] == i for a in self.assets)]
        self.assets = [a for a in self.assets if a["_id"] not in asset_ids]

    def held(self, external_id: str) -> list[str]:
        return [a["_id"] for a in self.assets if a["externalId"] == external_id]


class Deleting:
    """The flush's deleter and soft deleter over the in-memory state bucket, a recording queue and
    `hub`; every object has left the bucket."""

    def __init__(self, hub: ListingHub):
        settings = SimpleNamespace(external_id_template="{name}", url_template="https://storage.googleapis.com/{bucket}/{name}",
                                   delete_follows=True, settle_s=SETTLE_S, requests_per_minute=0,
                                   manifest_prefix="manifests/")
        self.store, self.hub, self.queue = Store(), hub, RecordingQueue()
        self.turn = Turn("f1", settings, Summary("f1"), ThreadPoolExecutor(4), lease_s=60.0, reconcile_budget=100)
        self.ledger = Ledger(self.store, "ledger/", False)
        manifests = SimpleNamespace(state_of=lambda path: None, results=None, store=self.store)
        live = lambda ref: None  # noqa: E731 - gone from the bucket
        soft = SoftDeleter(self.turn, hub, self.ledger, manifests, self.queue, live)
        self.deleter = Deleter(self.turn, self.ledger, manifests, self.queue, soft, live)

    def imported(self, names: list[str]) -> dict[str, ObjectRef]:
        """`names` sent to the Hub now, as the settler records them (claims, then the sent marker)."""
        refs = {n: ObjectRef("landing", n, 1) for n in names}
        for name, ref in refs.items():
            self.ledger.claim(ref, "m1.json", "f0", name, project=PROJECT, data=URL.format(name=name))
            self.hub.add(name, URL.format(name=name))
        self.ledger.mark_sent("m1.json", len(names))
        self.ledger._sent.clear()  # a later flush: it knows only what the state bucket says
        return refs

    def delete(self, refs: dict[str, ObjectRef], attempt: int = 0) -> None:
        self.deleter.delete_objects([(DeletionMessage(ref, "deleted", f"e-{name}"), f"ack-{name}-{attempt}")
                                     for name, ref in refs.items()])

    def state(self, ref: ObjectRef) -> str:
        return self.ledger.read(ref).body["state"]


def test_files_deleted_while_the_listing_lags_leave_the_hub_once_it_shows_them():
    with clock.use(VirtualClock()) as now:
        # GIVEN 30 files imported into a Hub whose listing shows an asset 30 s after its import
        hub = ListingHub(lag_s=LAG_S)
        flush = Deleting(hub)
        refs = flush.imported([f"f{i:02d}.txt" for i in range(30)])
        # WHEN 15 of them leave the bucket 5 s later, before the listing shows them
        now.sleep(5)
        gone = dict(list(refs.items())[:15])
        flush.delete(gone)
        # THEN nothing is recorded or acked: their sent records are a reason to look again, not "not_in_hub"
        assert flush.queue.acked == [] and flush.turn.summary.deletions == 0
        assert {flush.state(r) for r in gone.values()} == {"claimed"}
        assert len(flush.queue.deferred) == 15
        # AND once the listing shows them (a deferred deletion comes back), each leaves the Hub once
        now.sleep(SETTLE_S)
        flush.delete(gone, attempt=1)
        assert sorted(flush.queue.acked) == sorted(f"ack-{n}-1" for n in gone)
        assert all(hub.held(n) == [] for n in gone) and len(hub.deleted) == 15
        assert all(len(hub.held(n)) == 1 for n in list(refs)[15:])
        assert {flush.state(r) for r in gone.values()} == {"deleted"}
        assert flush.turn.summary.deleted_assets == 15


def test_an_asset_still_not_listed_a_settle_time_after_its_send_is_not_in_the_hub():
    with clock.use(VirtualClock()) as now:
        # GIVEN a file imported, whose asset was then removed by hand in the Hub
        hub = ListingHub()
        flush = Deleting(hub)
        refs = flush.imported(["a.txt"])
        hub.assets.clear()
        # WHEN it leaves the bucket more than a settle time after its import
        now.sleep(SETTLE_S + 1)
        flush.delete(refs)
        # THEN the absence is final: recorded and acked, no DELETE
        assert flush.queue.acked == ["ack-a.txt-0"] and flush.state(refs["a.txt"]) == "deleted"
        assert hub.deleted == []


def test_a_hand_made_asset_under_the_same_external_id_survives_a_deletion_when_rows_show_no_data():
    with clock.use(VirtualClock()) as now:
        # GIVEN a Hub whose listing rows carry no data URL, a file of ours imported, and an asset made
        # by hand under another file's externalId, whose own file was imported and removed by hand
        hub = ListingHub(data=False)
        flush = Deleting(hub)
        refs = flush.imported(["ours.txt", "theirs.txt"])
        hub.assets = [a for a in hub.assets if a["externalId"] != "theirs.txt"]
        by_hand = hub.add("theirs.txt", "https://example.com/made-by-hand.jpg")
        now.sleep(SETTLE_S + 1)
        # WHEN both files leave the bucket
        flush.delete(refs)
        # THEN neither row can be proven ours: both stay in the Hub, logged and counted, and the
        # deletions are done with (recorded, acked, told as left_unproven)
        assert hub.deleted == [] and hub.held("theirs.txt") == [by_hand] and len(hub.held("ours.txt")) == 1
        assert sorted(flush.queue.acked) == ["ack-ours.txt-0", "ack-theirs.txt-0"]
        assert flush.turn.summary.assets_left_unproven == 2 and flush.turn.summary.deleted_assets == 0
        record = flush.ledger.read(refs["theirs.txt"]).body
        assert record["state"] == "deleted" and record["asset_ids"] == [] and record["left_ids"] == [by_hand]


def test_heal_never_removes_a_hand_made_asset_when_rows_show_no_data():
    with clock.use(VirtualClock()) as now:
        # GIVEN a check after a deletion (remove every late copy of a.txt), in a Hub whose rows show no
        # data URL, and an asset made by hand under a.txt's externalId
        hub = ListingHub(data=False)
        flush = Deleting(hub)
        heal.schedule(flush.store, flush.turn.settings, "manifests/m1.json", PROJECT,
                      [SimpleNamespace(external_id="a.txt", data=URL.format(name="a.txt"))], since=now.t - 1,
                      remove_all=True)
        by_hand = hub.add("a.txt", "https://example.com/made-by-hand.jpg")
        # WHEN the check is due and runs
        now.sleep(10 * SETTLE_S)
        heal.run_due(flush.turn, hub, SimpleNamespace(store=flush.store, state_of=lambda path: None), flush.ledger)
        # THEN the hand-made asset stays, and the check is done
        assert hub.held("a.txt") == [by_hand] and hub.deleted == []
        assert flush.store.list("manifests/verify/") == []


def test_a_row_listed_without_data_puts_off_a_fresh_import_s_deletion_until_the_settle_time():
    with clock.use(VirtualClock()) as now:
        # GIVEN a Hub whose listing rows carry no data URL, and a file of ours imported moments ago
        hub = ListingHub(data=False)
        flush = Deleting(hub)
        refs = flush.imported(["ours.txt"])
        # WHEN it leaves the bucket at once (well within the settle time)
        flush.delete(refs)
        # THEN its deletion is put off: a row listed but not provably ours may be an older asset of
        # the name while the one just imported is not listed yet (the simulation's seed 6175)
        assert flush.queue.acked == [] and flush.state(refs["ours.txt"]) != "deleted"
        # AND once the settle time has passed, it is done with: told as left_unproven
        now.sleep(SETTLE_S + 1)
        flush.delete(refs, attempt=1)
        assert flush.queue.acked == ["ack-ours.txt-1"] and flush.turn.summary.assets_left_unproven == 1
        assert flush.ledger.read(refs["ours.txt"]).body["state"] == "deleted" and hub.deleted == []
