"""A pending manifest whose sent marker exists: the Hub took it, and its flush died (or its state
write failed) between the marker and the state. The deleter trusts the marker, so the object's
deletion may remove the asset before any flush resumes the manifest. Found by the simulation
(tests/simulation/regressions.py, 'deletions-130' and 'deletions-252'): the resumer reconciled,
did not find the deleted asset, and imported the deleted object again. (No network: the state
bucket is a dict, the Hub a fake that records imports.)"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from hub_import.core.assets import build_asset
from hub_import.core.objects import ObjectRef
from hub_import.flush.resumer import Resumer
from hub_import.flush.settler import Settler
from hub_import.flush.summary import Summary
from hub_import.flush.turn import Turn
from hub_import.state.ledger import CLAIMED, Ledger
from hub_import.state.manifests import PENDING, SENT, ManifestStore
from tests.unit.flush.test_early_claims import DEST, RecordingQueue, Store

REF = ObjectRef("landing", "a.png", 1764000000000001, size=10)


class Hub:
    """Lists nothing (the deleter removed the asset); records what is imported."""

    def __init__(self):
        self.transport, self.imported, self.reconciled = SimpleNamespace(clock_offset=0.0), [], 0

    def reconcile(self, project, wanted, *, since, progress, max_calls, deadline=None):
        self.reconciled += 1
        progress.absent |= set(wanted)
        progress.calls += 1
        return True

    def import_assets(self, project, assets, **kwargs):
        self.imported += [a.external_id for a in assets]


def test_a_pending_manifest_marked_sent_is_settled_without_sending_its_deleted_object_again():
    # GIVEN a manifest sent to the Hub (its marker written), left pending with an unknown outcome as
    # its state write failed; then its object deleted and its asset soft-deleted (record: deleted)
    store, hub = Store(), Hub()
    settings = SimpleNamespace(settle_s=600.0, each_generation=False, external_id_template="{name}",
                               manifest_prefix="manifests/")
    turn = Turn("f2", settings, Summary("f2"), ThreadPoolExecutor(2), lease_s=60.0, reconcile_budget=10)
    ledger, manifests = Ledger(store, "ledger/", False), ManifestStore(store, "manifests/")
    asset = build_asset(REF, storage=DEST.storage)
    path = "manifests/2026/01/02/030405Z-f1-001.json"
    long_ago = time.time() - 3600
    manifest = manifests.create(path, DEST, [asset], [REF], "f1", 0, uncertain_since=long_ago, not_before=long_ago)
    manifests.update(manifest, lease_until=long_ago)  # its flush's lease ran out long ago
    ledger.claim(REF, path, "f1", asset.external_id, project=DEST.project, data=asset.data)
    ledger.mark_sent(path, 1)
    record = ledger.read(REF)
    assert record.body["state"] == CLAIMED and manifest.state["state"] == PENDING
    ledger.mark_deleted(REF, record.generation, record.body, "f3", asset_ids=["asset-1"], project=DEST.project)
    # WHEN a later flush resumes the pending manifests
    settler = Settler(turn, hub, Ledger(store, "ledger/", False), manifests, RecordingQueue())
    Resumer(turn, hub, Ledger(store, "ledger/", False), manifests, settler).resume_pending()
    # THEN the deleted object is not imported again, and the manifest is recorded sent, as its marker says
    assert hub.imported == [] and hub.reconciled == 0
    assert manifests.state_of(path)["state"] == SENT
    assert list(manifests.pending_paths()) == []
