"""A heal check cut short while it removes copies (out of time, a Hub error) goes on next time
from where it stopped. (Found by the busy-project heal test after Hub deletions came under the
flush's deadline: each flush removed the same first copies again, from the rows it had kept, ran
out of time, and never reached the rest: 79 removals in 15 flushes, 34 names still doubled.)"""
from __future__ import annotations

from hub_import.core import clock
from hub_import.core.assets import Asset
from hub_import.flush import heal
from hub_import.hub import HubUnavailableError
from tests.unit.flush.test_heal_after_deletion import world

NAMES = [f"cams/{i}.jpg" for i in range(4)]


def url(name):
    return f"https://storage.googleapis.com/landing/{name}"


class Hub:
    """Holds two copies of each name; lets `deletes_each_run` DELETEs through per run, then fails
    (a flush's deadline); lists only what is still live, from a saved scan when given one."""

    def __init__(self, deletes_each_run):
        self.live = {n: [{"_id": f"{n}-{c}", "externalId": n, "data": url(n), "createdAt": f"2026-11-26T0{c}:00:00Z"}
                         for c in (1, 2)] for n in NAMES}
        self.allowance = self.each = deletes_each_run
        self.calls, self.deleted = 0, []

    def copies(self, project, wanted, found=None, **kwargs):
        self.calls += 1
        if not found:
            found.update({n: {r["_id"]: r for r in self.live[n]} for n in wanted})
        return {n: list(found[n].values()) for n in wanted}

    def delete_assets(self, project, ids, deadline=None):
        if self.allowance <= 0:
            raise HubUnavailableError("no Hub call may start after the flush's deadline")
        self.allowance -= 1
        self.calls += 1
        self.deleted += ids
        for n in NAMES:
            self.live[n] = [r for r in self.live[n] if r["_id"] not in ids]


def test_a_check_cut_short_goes_on_from_where_it_stopped_and_removes_each_copy_once():
    settings, manifests, ledger, turn = world()
    # GIVEN a heal check over four names, each held twice in the Hub
    heal.schedule(manifests.store, settings, "manifests/m1.json", "proj",
                  [Asset(external_id=n, data=url(n)) for n in NAMES], since=clock.now() - 100)
    hub = Hub(deletes_each_run=1)
    # WHEN flushes run it, each with time for one deletion only
    for _ in range(len(NAMES)):
        hub.allowance = hub.each
        heal.run_due(turn, hub, manifests, ledger)
    # THEN each extra copy was removed exactly once, and every name is held once
    assert sorted(hub.deleted) == sorted(f"{n}-2" for n in NAMES)
    assert all(len(rows) == 1 for rows in hub.live.values())
    assert manifests.store.list("manifests/verify/") == []
