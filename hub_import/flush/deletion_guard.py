"""The deletion guard (ON_DELETE=delete): at most MAX_DELETIONS_PER_HOUR objects' assets soft-deleted
in a rolling hour; past it, a deletion is held, not carried out (state/held_deletions.py).

Someone who deletes a folder by mistake would otherwise soft-delete thousands of assets with their
labels. The deleter (deleter.py) asks the guard about each deletion it is about to carry out in the
Hub (its object gone, its asset located), after the turn's allowance of lookups:
- one whose DELETE was sent already (its intent written) is finished: it was counted when taken on
  (counted again, never held, when that was over an hour ago: its count has left the window);
- one whose held document is there (read for each deletion while a limit is set) follows it:
  approved, it goes past the limit (counted); not approved, it stays held whether its message
  claims approval (forged) or is the held deletion delivered again (a duplicate, a crash between
  the hold and the ack); the document of an older generation does not cover a newer one;
- one only `deletions --approve` queued (source "approved") whose document is gone (discarded
  meanwhile, or forged) is acked with nothing done; beside a message of any other source it is a
  deletion of its own;
- any other is counted in the window, up to the limit; the rest are held: each written to its
  held document, then finished as HELD (logged, acked; nothing told, no ledger change: the asset
  stays). One whose document cannot be read or written comes back, as does every one when the
  window cannot be read or written.
Whatever becomes of an approved deletion (deleted, not in the Hub, overwritten by an upload since,
...), `release` drops its held document once its messages are acked: a deletion the ledger then
records is never carried out twice (the ledger says deleted), and one not finished keeps its
document, so nothing held is lost.
"""
from __future__ import annotations

import logging
import math

from google.api_core import exceptions

from hub_import.core import clock
from hub_import.core.logs import log
from hub_import.state.held_deletions import CLOCK_MARGIN_S, HOUR_S, DeletionWindow, HeldDeletions
from hub_import.state.ledger import Ledger
from hub_import.state.store import ConflictError

from .soft_delete import Gone
from .turn import Turn

logger = logging.getLogger("hub_import.deletions")

APPROVED = "approved"  # the source of a deletion message `deletions --approve` queues
DISCARDED = "discarded"  # an outcome (soft_delete.OUTCOMES), as HELD is
HELD_LINE = "deletions held: over MAX_DELETIONS_PER_HOUR"  # the log line the alert counts (Terraform)


class DeletionGuard:
    """For one flush (`turn`): which deletions may be carried out now (see the module docstring)."""

    def __init__(self, turn: Turn, ledger: Ledger, held: HeldDeletions, window: DeletionWindow):
        self.turn, self.ledger, self.held, self.window = turn, ledger, held, window
        self.settings, self.summary, self.id = turn.settings, turn.summary, turn.id

    @property
    def limit(self) -> int:
        return int(getattr(self.settings, "max_deletions_per_hour", 0) or 0)

    def admit(self, items: list[Gone]) -> tuple[list[Gone], list[Gone], list[Gone], list[Gone]]:
        """(carry out now, held, discarded, come back later) of `items`, each about to be deleted in the Hub."""
        go = [i for i in items if i.intent_ids is not None]
        rest = [i for i in items if i.intent_ids is None]
        held: list[Gone] = []
        discarded: list[Gone] = []
        later: list[Gone] = []
        fresh: list[Gone] = []
        approved: list[Gone] = []
        docs = list(self.turn.pool.map(self._held_doc, rest)) if rest and (self.limit or any(
            i.approved for i in rest)) else [None] * len(rest)
        # Of those not held, whether a person kept their assets (deletions --discard): True, False, or
        # None when it could not be read (the deletion comes back). Asked whatever the limit: one
        # discarded under a limit since turned off stays kept (a duplicate delivery deletes nothing).
        unheld = [i for i, d in zip(rest, docs) if d is None]
        kept = dict(zip(map(id, unheld), self.turn.pool.map(self._kept, unheld)))
        for item, doc in zip(rest, docs):
            covered = doc is not None and doc is not False and \
                int(doc.body.get("generation") or 0) >= item.message.ref.generation
            if doc is False or kept.get(id(item), False) is None:
                later.append(item)
            elif kept.get(id(item)):
                discarded.append(item)  # a person kept its assets (deletions --discard): queued again, nothing deleted
            elif doc is not None and doc.body.get("approved_at") and (item.approved or covered):
                item.approved = True  # its held document goes once it is done (release)
                approved.append(item)
            elif doc is not None and (item.approved or covered):
                held.append(item)  # a forged approval, or the held deletion delivered again: still held
            elif doc is None and item.approved and not item.fresh:
                discarded.append(item)
            else:
                fresh.append(item)  # a deletion of its own (beside a stale approval, or of a newer generation)
        go += approved
        self._count(approved, limit=0)  # counted, never held
        # A DELETE sent over an hour ago whose answer was lost: its count has left the window; counted
        # again (never held), so that the deletions taken on beside it keep to the limit.
        self._count([i for i in go if i.intent_ids is not None and i.record is not None
                     and clock.now() - float(i.record.body.get("at") or 0) >= HOUR_S], limit=0)
        if fresh and not self.limit:
            go += fresh
        elif fresh:
            granted = self._count(fresh, self.limit)
            if granted is None:
                later += fresh
            else:
                go += fresh[:granted]
                over = fresh[granted:]
                written = list(self.turn.pool.map(self._hold, over))
                held += [i for i, ok in zip(over, written) if ok]
                later += [i for i, ok in zip(over, written) if not ok]
        if held:
            self.summary.deletions_held += len(held)
            log(logger, logging.WARNING, HELD_LINE + f" ({self.limit}); run `python -m hub_import deletions --approve` "
                "or `--discard`", flush_id=self.id, held=len(held), limit=self.limit,
                examples=[i.message.ref.uri for i in held[:5]])
        if discarded:
            log(logger, logging.INFO, "approved deletions whose held record is gone (discarded): nothing deleted",
                flush_id=self.id, objects=len(discarded))
        return go, held, discarded, later

    def _count(self, items: list[Gone], limit: int) -> int | None:
        """`DeletionWindow.take` for `items`, the first ones counted marked with the minute
        (`counted_in`); None (logged) when the window cannot be read or written."""
        if not items:
            return 0
        remaining = self.turn.deadline - clock.monotonic()  # no Hub call starts after the deadline
        ahead = (remaining if math.isfinite(remaining) else 0.0) + float(
            getattr(self.settings, "hub_timeout_s", 0) or 0) + CLOCK_MARGIN_S
        try:
            granted, minute = self.window.take(len(items), limit, ahead_s=max(0.0, ahead))
        except (exceptions.GoogleAPICallError, exceptions.RetryError, ConflictError) as exc:
            log(logger, logging.WARNING, f"counting deletions in the hour failed; they come back: {exc}",
                flush_id=self.id, objects=len(items))
            return None
        for item in items[:granted]:
            item.counted_in = minute
        return granted

    def give_back(self, items: list[Gone]) -> None:
        """Uncount the deletions this turn counted whose DELETE was never sent (no intent written or
        tried, none from before: their lookup failed, nothing of theirs was listed, the name was
        uploaded again); they are counted again if they come back. When that fails they stay
        counted: too early, never past the limit."""
        unsent: dict[str, int] = {}
        for item in items:
            if item.counted_in is not None and item.intent_ids is None and not item.intent_tried:
                unsent[item.counted_in] = unsent.get(item.counted_in, 0) + 1
                item.counted_in = None
        for minute, n in unsent.items():
            try:
                self.window.give_back(n, minute)
            except (exceptions.GoogleAPICallError, exceptions.RetryError, ConflictError) as exc:
                log(logger, logging.WARNING, f"giving back the count of deletions not carried out failed: {exc}",
                    flush_id=self.id, objects=n)

    def _held_doc(self, item: Gone):
        """The held document of an approved item; None when there is none; False (logged) when unknown."""
        try:
            return self.held.read(self.ledger.key(item.message.ref))
        except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
            log(logger, logging.WARNING, f"reading a held deletion failed; it comes back: {exc}", flush_id=self.id,
                object=item.message.ref.uri)
            return False

    def _kept(self, item: Gone) -> bool | None:
        """Whether a person discarded this deletion (its generation's, or a newer one's); None (logged)
        when unknown."""
        try:
            return self.held.keeps(self.ledger.key(item.message.ref), item.message.ref.generation)
        except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
            log(logger, logging.WARNING, f"reading a kept deletion failed; it comes back: {exc}", flush_id=self.id,
                object=item.message.ref.uri)
            return None

    def _hold(self, item: Gone) -> bool:
        m = item.message
        try:
            self.held.hold(self.ledger.key(m.ref), m.ref, event=m.event, event_id=m.event_id, flush_id=self.id,
                           limit=self.limit)
            return True
        except (exceptions.GoogleAPICallError, exceptions.RetryError, ConflictError) as exc:
            log(logger, logging.WARNING, f"holding a deletion failed; it comes back: {exc}", flush_id=self.id,
                object=m.ref.uri)
            return False

    def release(self, items: list[Gone]) -> None:
        """Drop the held documents of approved deletions now done (acked). Never raises: a document
        left behind is queued again by the next approve and found done (already deleted)."""
        for item in items:
            if not item.approved:
                continue
            try:
                self.held.drop(self.held.path(self.ledger.key(item.message.ref)))
            except Exception as exc:  # noqa: BLE001 - see the docstring
                log(logger, logging.WARNING, f"dropping a held deletion carried out failed: {exc}", flush_id=self.id,
                    object=item.message.ref.uri)
