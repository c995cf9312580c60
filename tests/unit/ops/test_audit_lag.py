"""`audit` against a listing that lags the imports (the stand-in's `list_lag_s`): what was sent less
than a settle time ago and is not listed yet is not called missing, and a real absence still is.
(No network: the state bucket is a dict, the Hub a list of rows, the clock a virtual one.)"""
from __future__ import annotations

from types import SimpleNamespace

from hub_import.core import clock
from hub_import.core.assets import build_asset
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.ops.audit import audit
from hub_import.state.manifests import SENT, ManifestStore
from tests.unit.flush.test_deletions_listing import LAG_S, SETTLE_S, ListingHub, VirtualClock
from tests.unit.flush.test_result_messages import DictStore

SETTINGS = SimpleNamespace(manifest_prefix="manifests/", ledger_prefix="ledger/", each_generation=False, settle_s=SETTLE_S)


def sent(manifests: ManifestStore, hub: ListingHub, names: list[str], in_hub: bool = True) -> None:
    refs = [ObjectRef("landing", n, 1) for n in names]
    assets = [build_asset(r, storage="s") for r in refs]
    manifests.create(manifests.new_path("f1"), Destination("proj", "s"), assets, refs, "f1", 0, state=SENT)
    for asset in assets if in_hub else []:
        hub.add(asset.external_id, asset.data)


def test_audit_does_not_call_missing_what_a_lagging_listing_does_not_show_yet():
    with clock.use(VirtualClock()) as now:
        # GIVEN a Hub whose listing lags 30 s: 10 files sent an hour ago, 1 of them since removed by hand,
        # and 5 sent a moment ago
        store, hub = DictStore(), ListingHub(lag_s=LAG_S)
        manifests = ManifestStore(store, "manifests/")
        sent(manifests, hub, [f"old {i}.txt" for i in range(9)])
        sent(manifests, hub, ["old 9.txt"], in_hub=False)
        now.sleep(3600)
        sent(manifests, hub, [f"new {i}.txt" for i in range(5)])
        now.sleep(1)
        # WHEN an audit runs
        report = audit(SETTINGS, store, hub, "proj")
        # THEN only the real absence is missing; the new ones are reported as too recent to judge
        assert report.missing == ["old 9.txt"]
        assert report.recent == [f"new {i}.txt" for i in range(5)]
        # AND a settle time later, the listing shows them: nothing is recent, the same one missing
        now.sleep(SETTLE_S)
        report = audit(SETTINGS, store, hub, "proj")
        assert report.missing == ["old 9.txt"] and report.recent == [] and report.in_hub == 14
