"""A pending manifest is written in three steps: its assets, its pending marker, its state. A flush
whose lease ran out while it was between the marker and the state (a state write retried for a
long time, a frozen process) is still alive: another flush, taking the expired flush lease,
resumes pending manifests, finds the marker without a state, and must not drop the marker, or
the state written a moment later names a pending manifest that no flush ever finds again (its
messages were acked: the file never reaches the Hub). Found by the simulation (two flushes at
once, tests/simulation/regressions.py 'exactly-once-216'). A marker without a state older than the
claim timeout is a dead flush's: dropped as before. (No network: the state bucket is a dict.)"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from unittest import mock

from hub_import.core.assets import build_asset
from hub_import.core.objects import ObjectRef
from hub_import.flush.resumer import Resumer
from hub_import.flush.settler import Settler
from hub_import.flush.summary import Summary
from hub_import.flush.turn import Turn
from hub_import.state.ledger import Ledger
from hub_import.state.manifests import ManifestStore
from tests.unit.flush.test_early_claims import DEST, RecordingQueue, Store
from tests.unit.flush.test_resume_marked_sent import Hub

REF = ObjectRef("landing", "a.png", 1764000000000001, size=10)
PATH = "manifests/2026/01/02/030405Z-f1-001.json"


def _resume(store, settings):
    turn = Turn("f2", settings, Summary("f2"), ThreadPoolExecutor(2), lease_s=300.0, reconcile_budget=10)
    hub, manifests = Hub(), ManifestStore(store, "manifests/")
    settler = Settler(turn, hub, Ledger(store, "ledger/", False), manifests, RecordingQueue())
    Resumer(turn, hub, Ledger(store, "ledger/", False), manifests, settler).resume_pending()
    return manifests


def _half_written(store, at: float) -> None:
    """The first flush's create, stopped between the marker and the state (at time `at`)."""
    manifests = ManifestStore(store, "manifests/")
    asset = build_asset(REF, storage=DEST.storage)
    real_write = store.write

    def write(path, body, **kw):
        if path.endswith(".state.json"):
            raise KeyboardInterrupt("stopped before the state")
        return real_write(path, body, **kw)

    with mock.patch("hub_import.core.clock.now", lambda: at), mock.patch.object(store, "write", write):
        try:
            manifests.create(PATH, DEST, [asset], [REF], "f1", 300.0)
        except KeyboardInterrupt:
            pass


def test_a_marker_whose_state_is_not_written_yet_is_kept_while_its_flush_may_still_write_it():
    store = Store()
    settings = SimpleNamespace(settle_s=600.0, each_generation=False, external_id_template="{name}",
                               manifest_prefix="manifests/")
    _half_written(store, at=1_790_000_000.0)
    # WHEN another flush resumes 170 s later (the first one's flush lease ran out; its claims have not)
    with mock.patch("hub_import.core.clock.now", lambda: 1_790_000_170.0):
        manifests = _resume(store, settings)
    # THEN the marker stays, so that the state the first flush writes next is found
    assert list(manifests.pending_paths()) == [PATH]


def test_a_marker_whose_state_never_came_is_dropped_once_its_flush_is_surely_dead():
    store = Store()
    settings = SimpleNamespace(settle_s=600.0, each_generation=False, external_id_template="{name}",
                               manifest_prefix="manifests/")
    _half_written(store, at=1_790_000_000.0)
    with mock.patch("hub_import.core.clock.now", lambda: 1_790_000_000.0 + 301):
        manifests = _resume(store, settings)
    assert list(manifests.pending_paths()) == []
