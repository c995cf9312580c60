"""Soft deletes in the Hub, for objects that left the bucket (deleter.py decides which): their
assets found, the intent written (ledger state `deleting`, with the asset ids) before the DELETE
so that one whose answer is lost is finished later, the DELETE in batches at the Hub's pace, the
deletion recorded, and each outcome logged, counted and told on the results topic, then acked."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from google.api_core import exceptions

from hub_import.core.hub_quirks import DELETE_BATCH
from hub_import.core.logs import log
from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.hub import HubAuthError, HubClient, HubError, HubGeofencedError, HubNotFoundError, HubRedirectError
from hub_import.state.ledger import DELETING, Ledger
from hub_import.state.manifests import ManifestStore
from hub_import.state.store import Doc

from . import heal, results
from .subscription import Subscription
from .turn import Turn

logger = logging.getLogger("hub_import.deletions")

# The share of the Hub calls left in a flush that one pull's deletions may spend finding assets.
LOOKUP_SHARE = 0.5

# What became of a deletion (its outcome's `state`), and how its log line says it.
OUTCOMES = {
    "deleted": "deleted from the Hub: the object left the bucket",
    "not_in_hub": "the object left the bucket; the Hub holds no asset of ours for it (removed there already?)",
    "not_imported": "the object left the bucket before it was imported; recorded, so it is not imported now",
    "already_deleted": "a deletion already done",
    "overwritten": "not a deletion: a generation of the object is live again (an overwrite or a new upload)",
    "ignored": "a deletion ignored: ON_DELETE=ignore keeps the asset",
}


@dataclass
class Gone:
    """One object deleted from the bucket, with every message that said so."""

    message: DeletionMessage
    ack_ids: list[str]
    record: Doc | None = None
    project: str = ""
    external_id: str = ""
    data: str = ""
    asset_ids: list[str] = field(default_factory=list)
    intent_ids: list[str] | None = None  # the asset ids a DELETE was sent for, its answer lost
    at: float = field(default_factory=time.time)  # when recorded deleted (the ledger's `at`, the result's)


def lookup_allowance(turn: Turn) -> int:
    """How many deleted objects' assets one flush may still look up (a Hub call each, at worst)."""
    rpm = turn.settings.requests_per_minute
    if not rpm:
        return 1 << 30
    return max(1, int(LOOKUP_SHARE * (turn.deadline - time.monotonic()) * rpm / 60) - 2)


def still_live(live: Callable[[ObjectRef], int | None], ref: ObjectRef, flush_id: str) -> bool | None:
    """Whether a generation of the object is live in its bucket (`live`: its live generation, or
    None); None (logged) when GCS cannot say."""
    try:
        return live(ref) is not None
    except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
        log(logger, logging.WARNING, f"checking a deletion failed; it comes back: {exc}", flush_id=flush_id,
            object=ref.uri)
        return None


class SoftDeleter:
    """Deletes in the Hub, for one flush (`turn`), the assets of objects gone from the bucket; the
    ledger records each deletion (its intent first), the results topic tells it, the queue acks it.
    `live` answers an object's live generation (GCS, asked again right before deleting)."""

    def __init__(self, turn: Turn, hub: HubClient, ledger: Ledger, manifests: ManifestStore, queue: Subscription,
                 live: Callable[[ObjectRef], int | None]):
        self.turn, self.hub, self.ledger, self.manifests, self.queue = turn, hub, ledger, manifests, queue
        self.live = live
        self.settings, self.summary, self.id = turn.settings, turn.summary, turn.id

    def delete_in_hub(self, project: str, items: list[Gone]) -> None:
        """Find the assets of `items` in `project`, soft-delete them, record it, ack."""
        try:
            found = self.hub.copies(project, {i.external_id: i.data for i in items}, since=None,
                                    max_calls=lookup_allowance(self.turn) + 2, deadline=self.turn.deadline)
        except HubNotFoundError as exc:  # the project is gone, and every asset in it
            log(logger, logging.WARNING, f"the project of deleted objects is gone: {exc}", flush_id=self.id,
                project=project)
            self._record(items, "not_in_hub")
            return
        except HubError as exc:
            self._hub_trouble(exc, items, project, "finding the assets of deleted objects")
            return
        if found is None:
            self._hub_trouble(None, items, project, "finding the assets of deleted objects")
            return
        # Once more, the bucket, right before deleting: an upload since the first look is an overwrite
        # (unless a DELETE of it was sent already: that one is finished whatever the bucket holds).
        live = list(self.turn.pool.map(
            lambda i: False if i.intent_ids is not None else still_live(self.live, i.message.ref, self.id), items))
        self.finish([i for i, v in zip(items, live) if v], "overwritten")
        self.queue.defer([i for i, v in zip(items, live) if v is None])
        items = [i for i, v in zip(items, live) if v is False]
        gone_already: set[str] = set()  # named by a DELETE whose answer was lost, and no longer listed
        for item in items:
            item.asset_ids = list(dict.fromkeys(str(r["_id"]) for r in found.get(item.external_id, []) if "_id" in r))
            if item.intent_ids:
                gone_already.update(set(item.intent_ids) - set(item.asset_ids))
                item.asset_ids = list(dict.fromkeys(item.asset_ids + item.intent_ids))
        items = self._intend(items)
        ids = list(dict.fromkeys(a for i in items for a in i.asset_ids if a not in gone_already))
        deleted: set[str] = set(gone_already)
        for start in range(0, len(ids), DELETE_BATCH):
            batch = ids[start:start + DELETE_BATCH]
            try:
                self.hub.soft_delete(project, batch, deadline=self.turn.deadline)
            except HubError as exc:  # an unknown outcome too: the next try lists again
                left = [i for i in items if not set(i.asset_ids) <= deleted]
                self._hub_trouble(exc, left, project, "deleting the assets of deleted objects")
                items = [i for i in items if set(i.asset_ids) <= deleted]
                break
            deleted.update(batch)
        self._record([i for i in items if i.asset_ids], "deleted")
        self._record([i for i in items if not i.asset_ids], "not_in_hub")

    def _hub_trouble(self, exc: HubError | None, items: list[Gone], project: str, what: str) -> None:
        """A Hub call for deletions failed: nothing is recorded, the messages come back later."""
        if isinstance(exc, (HubGeofencedError, HubRedirectError)) or (isinstance(exc, HubAuthError)
                                                                     and exc.status != 403):
            self.summary.hub_unavailable = str(exc)  # the account as a whole: stop sending this flush
        level = logging.ERROR if exc is not None and exc.status in (400, 403) else logging.WARNING
        log(logger, level, f"{what} failed; they come back: {exc or 'out of Hub calls this turn'}", flush_id=self.id,
            project=project, objects=len(items))
        self.queue.defer(items)

    def _intend(self, items: list[Gone]) -> list[Gone]:
        """Write the deletion intent (DELETING, with the asset ids) of each item about to be deleted
        in the Hub; those whose record changed meanwhile come back later. Returns the rest."""
        fresh = [i for i in items if i.asset_ids and i.intent_ids is None]
        written = list(self.turn.pool.map(lambda i: self.ledger.mark_deleted(
            i.message.ref, i.record.generation, i.record.body, self.id, asset_ids=i.asset_ids, project=i.project,
            at=i.at, state=DELETING), fresh))
        for item, generation in zip(fresh, written):
            if generation:
                item.record = Doc({**item.record.body, "state": DELETING, "asset_ids": item.asset_ids}, generation)
        lost = [i for i, g in zip(fresh, written) if not g]
        self.queue.defer(lost)
        return [i for i in items if all(i is not gone for gone in lost)]

    def _record(self, items: list[Gone], state: str) -> None:
        """Mark `items` deleted in the ledger, then finish them; an item whose record changed meanwhile comes back."""
        heal.after_deletion(self.manifests, self.settings, items)  # first: a crash after it only checks twice
        won = list(self.turn.pool.map(lambda i: self.ledger.mark_deleted(
            i.message.ref, i.record.generation, i.record.body, self.id, asset_ids=i.asset_ids,
            project=i.project, at=i.at), items))
        self.finish([i for i, ok in zip(items, won) if ok], state)
        self.queue.defer([i for i, ok in zip(items, won) if not ok])

    def finish(self, items: list[Gone], state: str) -> None:
        """Log and count each outcome, publish its result (RESULTS_TOPIC), ack what was told."""
        for item in items:
            self._deletion_outcome(item, state)
        told = results.tell_deletions(self.manifests.results, self.ledger, items, state, self.id)
        self.queue.ack([a for i, ok in zip(items, told) if ok for a in i.ack_ids])
        self.queue.defer([i for i, ok in zip(items, told) if not ok])

    def _deletion_outcome(self, item: Gone, state: str) -> dict:
        """What became of one object deleted from the bucket, as one dict: project, object URI,
        generation, externalId, the asset ids soft-deleted, and `state` (a key of OUTCOMES).
        Logged and counted in the summary."""
        ref = item.message.ref
        outcome = {"state": state, "project": item.project or None, "object": ref.uri, "generation": ref.generation,
                   "external_id": item.external_id or None, "asset_ids": list(item.asset_ids),
                   "event": item.message.event, "messages": len(item.ack_ids)}
        self.summary.deletions += 1
        if state == "deleted":
            self.summary.deleted_assets += len(item.asset_ids)
        log(logger, logging.INFO, OUTCOMES[state], flush_id=self.id, **outcome)
        return outcome
