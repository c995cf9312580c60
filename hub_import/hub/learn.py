"""Learn, without changing anything, how the Hub we talk to behaves where its docs are silent.

`python -m hub_import check` calls `observe` on the first destination's project and prints one
line per behaviour, so that the first deploy tells the user which of quirks.py's guesses hold.
The client records what it sees in its `Behaviour`, which reconciles use from then on.
"""
from __future__ import annotations

from hub_import.core import clock

from hub_import.core.hub_quirks import filter_kind, order_of

from .client import LIST_LIMIT, STORAGES_PATH, HubClient
from .reconcile import _created
from .transport import data_of


def observe(hub: HubClient, project: str, deadline: float | None = None) -> list[tuple[str, str]]:
    """(behaviour, what was seen) pairs for the asset listing of `project` and the storages list."""
    deadline = deadline or clock.monotonic() + 60
    seen: list[tuple[str, str]] = []
    rows, total = hub.list_assets(project, page=1, limit=LIST_LIMIT, deadline=deadline)
    if not rows:
        seen.append(("asset listing", "the project has no assets yet: order, createdAt and the externalId "
                                      "filter are learned at the first reconcile"))
    else:
        has_created = all("createdAt" in r for r in rows)
        hub.behaviour.learn(created_at=has_created)
        seen.append(("listing createdAt", "present in every row" if has_created else
                     "absent: an unknown outcome is settled by full reads or per-id asks (slower)"))
        if has_created:
            order = order_of([_created(r) for r in rows])
            if order is None and total > len(rows):  # page 1 from one instant: compare the last page
                last, _ = hub.list_assets(project, page=-(-total // len(rows)), limit=LIST_LIMIT, deadline=deadline)
                order = order_of([_created(rows[0]), _created(last[-1])] if last else [])
            hub.behaviour.learn(order=order)
            seen.append(("listing order", {"newest_first": "newest first (sort=-createdAt honoured)",
                                           "oldest_first": "oldest first (sort ignored); reconciles read from the "
                                                           "last page",
                                           "unordered": "no order; reconciles read the whole listing",
                                           None: "one instant on page 1; not yet known"}[order]))
        probe = next((str(r.get("externalId")) for r in rows if len(str(r.get("externalId", ""))) >= 2), None)
        if probe:
            part = probe[:-1]
            matched, _ = hub.list_assets(project, page=1, limit=LIST_LIMIT, filters={"externalId": part},
                                         deadline=deadline)
            kind = filter_kind(part, matched) or "exact"
            hub.behaviour.learn(external_id_filter=kind)
            seen.append(("externalId filter", {"exact": "exact match", "substring":
                                               "matches substrings; rows are matched exactly by us",
                                               "ignored": "ignored; per-id asks are not used"}[kind]))
    answer = hub.transport.call("GET", STORAGES_PATH, deadline=deadline)
    first = data_of(answer, "storages", kind=list, what="storage listing")
    every = hub.storages(deadline=deadline)
    paged = len(first) < len(every)
    hub.behaviour.learn(storages_paged=paged)
    seen.append(("storages listing", f"{len(first)} without limit, {len(every)} in all"
                 + (" (paged: read page by page)" if paged else "")))
    return seen
