"""A deleted file's heal check (heal.after_deletion) removes late copies of the import whose
outcome was unknown, never the asset of a later import of the same name. (Issue 23: the name
uploaded again before the check ran was imported anew, and the check soft-deleted that new asset:
the file was in the bucket and in no Hub project.) No network: the state bucket is a dict, the
Hub a fake that lists the copies it is given and records what it deletes."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from hub_import.core import clock
from hub_import.core.assets import Asset
from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.flush import heal
from hub_import.flush.soft_delete import Gone
from hub_import.flush.summary import Summary
from hub_import.flush.turn import Turn
from hub_import.state.ledger import SENT, Ledger
from hub_import.state.manifests import SENT as MANIFEST_SENT
from hub_import.state.manifests import ManifestStore
from tests.unit.flush.test_early_claims import Store

DEST = Destination(project="proj", storage="st")
NAME, URL = "cams/a.jpg", "https://storage.googleapis.com/landing/cams/a.jpg"
OLD = ObjectRef("landing", NAME, 1764000000000001, size=10)
NEW = ObjectRef("landing", NAME, 1764000000000002, size=10)


class Hub:
    """Lists `rows` as the copies of every externalId asked for; records the ids it deletes."""

    def __init__(self, rows):
        self.rows, self.calls, self.deleted = rows, 0, []

    def copies(self, project, wanted, **kwargs):
        self.calls += 1
        return {external_id: [r for r in self.rows if r["externalId"] == external_id] for external_id in wanted}

    def delete_assets(self, project, ids, deadline=None):
        self.calls += 1
        self.deleted += ids


def world():
    store = Store()
    settings = SimpleNamespace(manifest_prefix="manifests/", settle_s=0.0)
    manifests = ManifestStore(store, "manifests/")
    ledger = Ledger(store, "ledger/", False)
    turn = Turn("f9", settings, Summary("f9"), ThreadPoolExecutor(2), lease_s=60.0, reconcile_budget=100)
    return settings, manifests, ledger, turn


def deleted_after_an_unknown_outcome(settings, manifests, ledger):
    """OLD imported in manifest m1 after a lost request (heal_since), its asset deleted with its file:
    the deletion recorded, and the heal check it leaves behind."""
    asset = Asset(external_id=NAME, data=URL, storage="st")
    manifests.create("manifests/m1.json", DEST, [asset], [OLD], "f1", 30, state=MANIFEST_SENT,
                     heal_since=clock.now() - 100)
    ledger.claim(OLD, "manifests/m1.json", "f1", NAME, project="proj", data=URL)
    record = ledger.read(OLD)
    ledger.settle(OLD, SENT, "manifests/m1.json", "f1", NAME, record.generation, project="proj", data=URL)
    record = ledger.read(OLD)
    gone = Gone(DeletionMessage(OLD, "deleted", "e1"), ["a1"], record=record, project="proj", external_id=NAME,
                data=URL, asset_ids=["asset-old"])
    heal.after_deletion(manifests, settings, [gone])
    ledger.mark_deleted(OLD, record.generation, record.body, "f1", asset_ids=["asset-old"], project="proj")


def imported_anew(manifests, ledger, state=SENT):
    """The name uploaded again (NEW) and imported by our own ledger into manifest m2."""
    ledger.take_over(NEW, ledger.read(NEW).generation, "manifests/m2.json", "f2", NAME, project="proj", data=URL)
    if state == SENT:
        manifests.create("manifests/m2.json", DEST, [Asset(external_id=NAME, data=URL, storage="st")], [NEW], "f2",
                         30, state=MANIFEST_SENT)
        ledger.settle(NEW, SENT, "manifests/m2.json", "f2", NAME, project="proj", data=URL)
    else:
        manifests.create("manifests/m2.json", DEST, [Asset(external_id=NAME, data=URL, storage="st")], [NEW], "f2",
                         30)


def checks(manifests):
    return manifests.store.list("manifests/verify/")


def row(asset_id, created):
    return {"_id": asset_id, "externalId": NAME, "data": URL, "createdAt": created}


def test_a_check_of_a_deleted_file_keeps_the_asset_of_its_name_imported_anew():
    settings, manifests, ledger, turn = world()
    # GIVEN a file deleted after an import of unknown outcome, its heal check left behind
    deleted_after_an_unknown_outcome(settings, manifests, ledger)
    # AND the same name uploaded again and imported anew, before the check ran
    imported_anew(manifests, ledger)
    hub = Hub([row("asset-new", "2026-11-26T02:20:00Z")])
    # WHEN the check runs
    heal.run_due(turn, hub, manifests, ledger)
    # THEN the new asset stays: the file is in the bucket and in the Hub
    assert hub.deleted == []
    assert checks(manifests) == []


def test_a_check_of_a_deleted_file_imported_anew_removes_only_the_extra_late_copy():
    settings, manifests, ledger, turn = world()
    # GIVEN the same, and the lost request of the deleted generation landed late after all
    deleted_after_an_unknown_outcome(settings, manifests, ledger)
    imported_anew(manifests, ledger)
    hub = Hub([row("asset-late", "2026-11-26T02:19:00Z"), row("asset-new", "2026-11-26T02:20:00Z")])
    # WHEN the check runs
    heal.run_due(turn, hub, manifests, ledger)
    # THEN one copy stays for the file in the bucket (the oldest, as every heal keeps), the other goes
    assert len(hub.deleted) == 1


def test_a_check_of_a_deleted_file_waits_while_its_name_imported_anew_is_under_way():
    settings, manifests, ledger, turn = world()
    deleted_after_an_unknown_outcome(settings, manifests, ledger)
    # GIVEN the name imported anew, its manifest still pending (its outcome not known yet)
    imported_anew(manifests, ledger, state="pending")
    hub = Hub([row("asset-new", "2026-11-26T02:20:00Z")])
    # WHEN the check comes due
    heal.run_due(turn, hub, manifests, ledger)
    # THEN it removes nothing and stays, for a later flush
    assert hub.deleted == [] and hub.calls == 0
    assert len(checks(manifests)) == 1


def test_a_check_of_a_deleted_file_still_removes_a_late_copy_when_the_name_stays_gone():
    settings, manifests, ledger, turn = world()
    # GIVEN a file deleted after an import of unknown outcome, and no upload of its name since
    deleted_after_an_unknown_outcome(settings, manifests, ledger)
    hub = Hub([row("asset-late", "2026-11-26T02:19:00Z")])
    # WHEN the check runs
    heal.run_due(turn, hub, manifests, ledger)
    # THEN the late copy of the deleted file is removed
    assert hub.deleted == ["asset-late"]
    assert checks(manifests) == []
