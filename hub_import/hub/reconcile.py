"""Settle an import whose outcome is unknown: which of its externalIds does the Hub hold?

Right under every listing behaviour the public material allows, at a bounded cost:
- rows are matched by exact externalId, whatever the filter matched;
- the listing's order is read from the rows' createdAt, never assumed from `sort`; a scan is cut
  at "created since" only while the rows it has read prove the order;
- without createdAt or a provable order it reads the whole listing or asks per externalId,
  whichever costs fewer calls; a filter seen to match substrings is paged, one seen to be
  ignored is not used again;
- progress is kept in a `Progress` that the caller saves, so a reconcile too large for one flush
  goes on in the next, and each run stops after `max_calls`.

Costs, in Hub calls, for N externalIds in a project of T assets of which R were created since
the import (L = 100 rows a page): order proven from createdAt: at most ceil(R / L) + 2 (1 when
the whole listing fits one page); no createdAt or no provable order: at most min(ceil(T / L), N) + 1,
more for a substring filter (its extra pages). Measured in tests/integration/hub/test_hub_client.py.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime

from hub_import.core.hub_quirks import CLOCK_MARGIN_S, filter_kind, order_of, proven_ours
from hub_import.core.logs import log

logger = logging.getLogger(__name__)


@dataclass
class Progress:
    """How far a reconcile has got; saved with its manifest between flushes.

    found / absent: externalIds the Hub holds / surely does not. down_to: scan cursor, the
    oldest-first index of the oldest row read so far (rows below it are still to read; the
    index of an unread row only falls when rows are deleted, so the cursor stays true).
    page, total: cursor of an unordered full read, and the listing's total when it was saved (a
    smaller total later means deletions moved rows onto pages already read: it starts over).
    calls: Hub calls spent in all runs.
    """

    found: set[str] = field(default_factory=set)
    absent: set[str] = field(default_factory=set)
    down_to: int | None = None
    page: int = 0
    calls: int = 0
    total: int = 0

    def remaining(self, wanted: set[str]) -> set[str]:
        return wanted - self.found - self.absent

    def to_json(self) -> dict:
        return {"found": sorted(self.found), "absent": sorted(self.absent), "down_to": self.down_to,
                "page": self.page, "calls": self.calls, "total": self.total}

    @classmethod
    def from_json(cls, body: dict | None) -> "Progress":
        body = body or {}
        return cls(set(body.get("found", [])), set(body.get("absent", [])), body.get("down_to"),
                   int(body.get("page", 0)), int(body.get("calls", 0)), int(body.get("total", 0)))


class _OutOfCalls(Exception):
    pass


class _OrderBroken(Exception):
    pass


class Reconcile:
    """One run of a reconcile: `Reconcile(client, project, wanted, since, progress, max_calls).run()`.

    `since` is wall time before the first request of unknown outcome (None: no cut by time).
    Returns True when every wanted externalId is found or absent; False when the run stopped at
    `max_calls` (progress kept). HubError from a failed read propagates (progress kept too).
    """

    def __init__(self, client, project: str, wanted: dict[str, str | None], since: float | None,
                 progress: Progress, max_calls: int, deadline: float,
                 copies: dict[str, dict[str, dict]] | None = None):
        # wanted: externalId -> the data URL we sent under it (None: any). A row counts only if both
        # match, so another file's asset under the same externalId never settles ours.
        self.client, self.project, self.progress = client, project, progress
        self.urls = dict(wanted)
        self.wanted = set(wanted)
        # copies: when given, every row of a wanted externalId is kept there (externalId -> _id -> row),
        # and a found externalId does not end the search: the run counts copies instead of stopping.
        self.copies = copies
        self.finished = False
        self._pages: dict[int, list[dict]] = {}
        self.max_calls, self.deadline = max_calls, deadline
        # `since` is in the Hub's clock (see HubClient.hub_time): no correction for ours is needed.
        self.cutoff = None if since is None else since - CLOCK_MARGIN_S
        self.calls = 0
        self.limit = client.behaviour.page_size or client.list_limit
        self.total = 0

    @property
    def behaviour(self):
        return self.client.behaviour

    def _open(self) -> set[str]:
        """The externalIds still to look for."""
        if self.finished:
            return set()
        return set(self.wanted) if self.copies is not None else self.progress.remaining(self.wanted)

    def run(self) -> bool:
        try:
            if self._open():
                self._run()
            return not self._open()
        except _OutOfCalls:
            return False
        finally:
            self.progress.calls += self.calls

    def _list(self, page: int, filters: dict | None = None) -> list[dict]:
        if not filters and page in self._pages:
            return self._pages[page]  # read moments ago in this run (the order probe's last page)
        if self.calls >= self.max_calls:
            raise _OutOfCalls()
        self.calls += 1
        rows, total = self.client.list_assets(self.project, page=page, limit=self.client.list_limit,
                                              filters=filters, deadline=self.deadline)
        if not filters:
            self.total = total
            if page == 1 and len(rows) < min(total, self.limit):
                # The Hub caps pages below what we asked: page arithmetic must use its size.
                self.limit = len(rows)
                self.client.behaviour.learn(page_size=len(rows))
                self._pages.clear()
            self._pages[page] = rows
        if rows:
            self.behaviour.learn(created_at=all("createdAt" in r for r in rows))
        for row in rows:
            external_id = row.get("externalId")
            if external_id in self.wanted and self._ours(external_id, row):
                self.progress.found.add(external_id)
                if self.copies is not None:
                    self.copies.setdefault(external_id, {})[str(row.get("_id"))] = {
                        k: row[k] for k in ("_id", "externalId", "data", "createdAt") if k in row}
        return rows

    def _ours(self, external_id: str, row: dict) -> bool:
        url = self.urls.get(external_id)
        return url is None or proven_ours(row, url) is not False

    def _run(self) -> None:
        first = self._list(1)
        if self.total <= len(first):  # the whole listing in one page
            self._conclude_absent()
            return
        order = self._order(first)
        if order in ("newest_first", "oldest_first") and self.behaviour.created_at and self.cutoff is not None:
            try:
                self._scan(order, first if order == "newest_first" else None)
                return
            except _OrderBroken:
                self.behaviour.learn(order="unordered")
                log(logger, logging.WARNING, "the Hub's asset listing is not in the order it showed before; "
                    "settling by full reads instead", project=self.project)
        self._unordered()

    def _order(self, first: list[dict]) -> str | None:
        """The order this listing shows now, from its rows (never from what was learned before: a
        Hub may change, and a wrong order would end a scan early)."""
        if not self.behaviour.created_at:
            return None
        order = order_of([_created(r) for r in first])
        if order is None:  # page 1 from one instant: compare it with the last page
            last = self._list(math.ceil(self.total / self.limit))
            order = order_of([_created(first[0]), _created(last[-1])] if last else [])
        self.behaviour.learn(order=order)
        return order

    def _scan(self, order: str, page_one: list[dict] | None) -> None:
        """Read rows newest to oldest until one older than the cutoff, the oldest row, or all found.

        A row's index counts from the oldest (0), so the cursor stays true while new assets arrive.
        """
        p = self.progress
        previous = math.inf
        while self._open():
            top = self.total if p.down_to is None else p.down_to  # rows below `top` are unread
            if top <= 0:
                break
            newest_first = order == "newest_first"
            page = (self.total - top) // self.limit + 1 if newest_first else (top - 1) // self.limit + 1
            rows = page_one if page_one is not None and page == 1 else self._list(page)
            page_one = None
            first_index = self.total - 1 - (page - 1) * self.limit if newest_first else (page - 1) * self.limit
            indexed = sorted(((first_index - k if newest_first else first_index + k), r) for k, r in enumerate(rows))
            if not rows:
                break  # past the end of the listing
            unread = [(i, r) for i, r in reversed(indexed) if i < top]
            if not unread:
                raise _OrderBroken()  # the listing moved under us (deletions): no cursor to trust
            for index, row in unread:
                created = _created(row)
                if created > previous + 1e-3:
                    raise _OrderBroken()
                previous = created
                if created < self.cutoff:
                    self._conclude_absent()
                    return
            p.down_to = unread[-1][0]
        self._conclude_absent()

    def _unordered(self) -> None:
        """No provable order: a whole read of the listing, or per-id asks, whichever is cheaper.

        A whole read that spans runs resumes at its page (`Progress.page`); pages are assumed to
        keep their rows between runs, which holds for a listing that only grows at one end.
        """
        p = self.progress
        pages = math.ceil(self.total / self.limit)
        if p.page and self.total < p.total:
            p.page = 0  # deletions since the cursor was saved may have moved rows onto read pages
        done = max(p.page, 1)  # page 1 is read at the start of every run
        remaining = self._open()
        if self.behaviour.external_id_filter != "ignored" and len(remaining) <= pages - done:
            if self._per_id():
                return
        for page in range(done + 1, pages + 1):
            if not self._open():
                return
            self._list(page)
            p.page, p.total = page, self.total
        self._conclude_absent()

    def _per_id(self) -> bool:
        """Ask for each remaining externalId; False if the filter turns out to be ignored."""
        for external_id in sorted(self._open()):
            page = 1
            while True:
                rows = self._list(page, {"externalId": external_id})
                kind = filter_kind(external_id, rows)
                if kind in ("substring", "ignored"):
                    self.behaviour.learn(external_id_filter=kind)
                if kind == "ignored":
                    return False
                if external_id in self.progress.found and self.copies is None:
                    break
                if len(rows) < self.limit:
                    if external_id not in self.progress.found:
                        self.progress.absent.add(external_id)
                    break
                page += 1  # a full page: there may be more (a substring filter, or copies)
        self.finished = True
        return True

    def _conclude_absent(self) -> None:
        self.progress.absent |= self.progress.remaining(self.wanted)
        self.finished = True


def _created(row: dict) -> float:
    try:
        return datetime.fromisoformat(str(row.get("createdAt", "")).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return math.inf  # unreadable: count it as recent, so an asset is never sent twice
