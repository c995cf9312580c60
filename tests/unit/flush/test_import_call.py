"""How a manifest's assets are sorted by what the Hub did with them (no network: a Hub that
judges each request by rules the test sets)."""
from __future__ import annotations

import time

from hub_import.core.assets import build_asset
from hub_import.core.objects import ObjectRef
from hub_import.flush.import_call import send_assets
from hub_import.hub import HubNotFoundError, HubOutcomeUnknownError, HubRejectedError, HubTooLargeError

ASSETS = [build_asset(ObjectRef("b", f"a/{i:03d}.jpg", 1), storage="s") for i in range(64)]


class RuleHub:
    """Stores a request unless a rule refuses it; counts calls."""

    def __init__(self, bad=(), request_level=False, max_assets=None, unknown_once=(), gone=False):
        self.bad, self.request_level, self.max_assets = set(bad), request_level, max_assets
        self.unknown_once, self.gone = set(unknown_once), gone
        self.calls, self.stored = 0, []

    def import_assets(self, project, assets, *, priority, deadline):
        self.calls += 1
        ids = [a.external_id for a in assets]
        if self.gone:
            raise HubNotFoundError("404 on POST /v2/project/p/cloud: project not found", 404)
        if self.request_level or any(i in self.bad for i in ids):
            raise HubRejectedError("Invalid asset: something is wrong", assets)  # names no index
        if self.max_assets and len(assets) > self.max_assets:
            raise HubTooLargeError("413 on POST /v2/project/p/cloud: the request is too large")
        if self.unknown_once & set(ids):
            self.unknown_once -= set(ids)
            raise HubOutcomeUnknownError("import outcome unknown: 504", assets, time.time())
        self.stored += ids


def run(hub, assets=ASSETS):
    return send_assets(hub, "p", assets, priority=0, deadline=time.monotonic() + 30)


def test_a_request_level_400_fails_every_asset_in_four_calls():
    hub = RuleHub(request_level=True)
    out = run(hub)
    assert len(out.failed) == 64 and not out.sent and hub.calls == 4


def test_dense_bad_assets_that_name_no_index_are_narrowed_down_and_every_good_one_goes_in():
    bad = {a.external_id for a in ASSETS[1::2]}  # every other asset, in both halves, under every probe but the first
    hub = RuleHub(bad=bad)
    out = run(hub)
    assert {a.external_id for a, _ in out.failed} == bad
    assert sorted(hub.stored) == sorted(a.external_id for a in ASSETS if a.external_id not in bad)


def test_two_bad_assets_cost_a_bisection_not_a_failed_manifest():
    bad = {ASSETS[5].external_id, ASSETS[40].external_id}
    hub = RuleHub(bad=bad)
    out = run(hub)
    assert {a.external_id for a, _ in out.failed} == bad and len(out.sent) == 62
    assert hub.calls <= 4 + 2 * 2 * 6 + 2, hub.calls  # probes, then two paths of log2(64) levels


def test_a_413_splits_until_the_parts_fit():
    hub = RuleHub(max_assets=10)
    out = run(hub)
    assert len(out.sent) == 64 and not out.failed and sorted(hub.stored) == sorted(a.external_id for a in ASSETS)


def test_an_unknown_outcome_is_never_retried_in_the_same_send():
    hub = RuleHub(unknown_once={ASSETS[0].external_id})
    out = run(hub)
    assert out.uncertain == ASSETS and out.uncertain_since is not None and hub.calls == 1


def test_a_project_that_is_gone_fails_the_manifest_at_once():
    hub = RuleHub(gone=True)
    out = run(hub)
    assert len(out.failed) == 64 and hub.calls == 1
