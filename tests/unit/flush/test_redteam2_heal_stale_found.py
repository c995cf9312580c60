"""Red team 2 of issue 23 (fixed): WEDGE probe: a heal check whose DELETE of a copy acted but answered 504 (HubError) is written back
with its listing `progress` complete and its `found` rows (heal.py:123-127). If the next run reuses
those rows instead of listing again, it asks the Hub to delete ids no longer live; a Hub that refuses
unknown ids (400, the `delete_unknown_ids` guess) then fails the check on every flush, forever."""
from __future__ import annotations

from types import SimpleNamespace

from hub_import.core import clock
from hub_import.flush import heal
from hub_import.hub import HubError, HubRejectedError
from tests.unit.flush.test_deletions_listing import PROJECT, SETTLE_S, URL, Deleting, ListingHub, VirtualClock


class StrictHub(ListingHub):
    """Refuses to delete ids not live (400); the first delete of `flaky` acts, then answers 504."""

    def __init__(self):
        super().__init__()
        self.flaky, self.attempts = None, 0

    def delete_assets(self, project, asset_ids, deadline=None):
        self.attempts += 1
        live = {a["_id"] for a in self.assets}
        if any(i not in live for i in asset_ids):
            raise HubRejectedError("400 unknown asset ids")
        super().delete_assets(project, asset_ids)
        if self.flaky and self.flaky in asset_ids:
            self.flaky = None
            raise HubError("504 (acted, answer lost)", 504)


def test_a_heal_check_whose_delete_answer_was_lost_finishes():
    with clock.use(VirtualClock()) as now:
        hub = StrictHub()
        flush = Deleting(hub)
        since = now.t - 1
        for name in ("a.txt", "b.txt"):
            hub.add(name, URL.format(name=name))
            hub.add(name, URL.format(name=name))  # a duplicate of ours
        hub.flaky = hub.held("b.txt")[1]
        heal.schedule(flush.store, flush.turn.settings, "manifests/m1.json", PROJECT,
                      [SimpleNamespace(external_id=n, data=URL.format(name=n)) for n in ("a.txt", "b.txt")],
                      since=since)
        manifests = SimpleNamespace(store=flush.store, state_of=lambda path: None)
        for _ in range(5):
            now.sleep(10 * SETTLE_S)
            flush.turn.reconcile_budget = 100
            heal.run_due(flush.turn, hub, manifests, flush.ledger)
        assert len(hub.held("a.txt")) == 1 and len(hub.held("b.txt")) == 1
        assert flush.store.list("manifests/verify/") == [], f"check never finishes ({hub.attempts} DELETE attempts)"
