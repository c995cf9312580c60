"""Soft deletes in the Hub, for objects that left the bucket (deleter.py decides which): their
assets found, the intent written (ledger state `deleting`, with the asset ids) before the DELETE
so that one whose answer is lost is finished later, the DELETE in batches at the Hub's pace, the
deletion recorded, and each outcome logged, counted and told on the results topic, then acked.

Two things the listing shows are not taken at their word (hub_quirks.py):
- an asset sent less than HUB_SETTLE_SECONDS ago and not listed may be behind a lagging listing:
  its deletion comes back and looks again; only once the settle time has passed since the send
  is "not listed" final (`not_in_hub`);
- a row under the externalId that does not show our data URL (a listing without `data`) cannot be
  proven ours, and may be an asset made by hand: it is never deleted, but left, logged with its id
  and counted (`assets_left_unproven`); with none of ours proven, the outcome is `left_unproven`."""
from __future__ import annotations

import logging
from hub_import.core import clock
from dataclasses import dataclass, field
from typing import Callable

from google.api_core import exceptions

from hub_import.core.hub_quirks import DELETE_BATCH, proven_ours
from hub_import.core.logs import log
from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.hub import HubAuthError, HubClient, HubError, HubGeofencedError, HubNotFoundError, HubRedirectError
from hub_import.state.ledger import DELETING, Ledger
from hub_import.state.manifests import ManifestStore
from hub_import.state.store import Doc

from . import heal
from .deletion_results import HELD, RETOLD, deletion_result, tell_deletions
from .subscription import Subscription
from .turn import Turn

logger = logging.getLogger("hub_import.deletions")

# The share of the Hub calls left in a flush that one pull's deletions may spend finding assets.
LOOKUP_SHARE = 0.5

# What became of a deletion (its outcome's `state`), and how its log line says it.
OUTCOMES = {
    "deleted": "deleted from the Hub: the object left the bucket",
    "not_in_hub": "the object left the bucket; the Hub holds no asset of ours for it (removed there already?)",
    "left_unproven": "the object left the bucket; the Hub lists an asset under its externalId that cannot be proven "
                     "ours (the row shows no data URL): left in the Hub",
    "not_imported": "the object left the bucket before it was imported; recorded, so it is not imported now",
    "already_deleted": "a deletion already done",
    "overwritten": "not a deletion: a generation of the object is live again (an overwrite or a new upload)",
    "ignored": "a deletion ignored: ON_DELETE=ignore keeps the asset",
    RETOLD: "a deletion told again: its result was not confirmed when first told",
    HELD: "a deletion held: over MAX_DELETIONS_PER_HOUR; the asset stays until `deletions --approve`",
    "discarded": "an approved deletion whose held record was discarded: nothing deleted, the asset stays",
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
    sent_at: float | None = None  # when its import was recorded sent (wall time), None if unknown
    left_ids: list[str] = field(default_factory=list)  # listed under its externalId, not proven ours: left
    untold: list[tuple[str, dict]] = field(default_factory=list)  # (marker, result) not confirmed yet
    at: float = field(default_factory=clock.now)  # when recorded deleted (the ledger's `at`, the result's)
    approved: bool = False  # queued again by `deletions --approve` (deletion_guard.py)
    fresh: bool = True  # said gone by a message not queued by `deletions --approve` (an event, the sweep)
    counted_in: str | None = None  # the deletion window's minute it was counted in this turn (deletion_guard.py)
    intent_tried: bool = False  # its deletion intent was written, or tried (its DELETE may follow)


def lookup_allowance(turn: Turn) -> int:
    """How many deleted objects' assets one flush may still look up (a Hub call each, at worst)."""
    rpm = turn.settings.requests_per_minute
    if not rpm:
        return 1 << 30
    return max(1, int(LOOKUP_SHARE * (turn.deadline - clock.monotonic()) * rpm / 60) - 2)


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
                 live: Callable[[ObjectRef], int | None], guard=None):
        self.turn, self.hub, self.ledger, self.manifests, self.queue = turn, hub, ledger, manifests, queue
        self.live = live
        self.guard = guard  # deletion_guard.DeletionGuard: drops the held records of approved deletions done
        self.settings, self.summary, self.id = turn.settings, turn.summary, turn.id

    def delete_in_hub(self, project: str, items: list[Gone]) -> None:
        """Find the assets of `items` in `project`, soft-delete them, record it, ack."""
        try:
            found = self.hub.copies(project, {i.external_id: i.data for i in items}, since=None,
                                    max_calls=lookup_allowance(self.turn) + 2, deadline=self.turn.deadline)
        except HubNotFoundError as exc:  # the project is gone, and every asset in it
            log(logger, logging.WARNING, f"the project of deleted objects is gone: {exc}", flush_id=self.id,
                project=project)
            for item in items:  # a DELETE sent before, its answer lost, did delete them: told as such
                item.asset_ids = list(item.intent_ids or [])
            self._record([i for i in items if i.asset_ids], "deleted")
            self._record([i for i in items if not i.asset_ids], "not_in_hub")
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
            rows = [r for r in found.get(item.external_id, []) if "_id" in r]
            item.asset_ids = list(dict.fromkeys(str(r["_id"]) for r in rows if proven_ours(r, item.data)))
            item.left_ids = list(dict.fromkeys(str(r["_id"]) for r in rows if proven_ours(r, item.data) is None))
            if item.intent_ids:
                gone_already.update(set(item.intent_ids) - set(item.asset_ids))
                item.asset_ids = list(dict.fromkeys(item.asset_ids + item.intent_ids))
        items = self._not_listed_yet(items)
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
        self._record([i for i in items if not i.asset_ids and i.left_ids], "left_unproven")
        self._record([i for i in items if not i.asset_ids and not i.left_ids], "not_in_hub")

    def _not_listed_yet(self, items: list[Gone]) -> list[Gone]:
        """Defer the items none of whose assets is proven ours in the listing while their import was
        sent less than a settle time ago: the listing may not show it yet. Returns the rest."""
        settled = clock.now() - self.settings.settle_s
        # A row listed but not proven ours may be an older asset of the name (left by an earlier
        # deletion that could not prove it ours) while the one just imported is not listed yet: early
        # too (found by the simulation, seed 6175: that one was neither deleted nor told).
        early = [i for i in items if not i.asset_ids and i.intent_ids is None and (i.sent_at or 0) > settled]
        if early:
            log(logger, logging.INFO, "deleted objects whose assets are not listed yet (sent less than "
                "HUB_SETTLE_SECONDS ago; the listing may lag): looked for again later", flush_id=self.id,
                objects=len(early))
            self.queue.defer(early)
        return [i for i in items if all(i is not e for e in early)]

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
        for item in fresh:  # from here on a DELETE of it may be sent: its count in the hour stays
            item.intent_tried = True
        written = list(self.turn.pool.map(lambda i: self._mark_deleted(
            i.message.ref, i.record.generation, i.record.body, asset_ids=i.asset_ids, project=i.project,
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
        items = self._marked_untold(items, state)
        won = list(self.turn.pool.map(lambda i: self._mark_deleted(
            i.message.ref, i.record.generation, i.record.body, asset_ids=i.asset_ids,
            project=i.project, at=i.at, left_ids=i.left_ids), items))
        # Lost to another flush (0): its marker goes, that flush tells it. Unknown (None: the write
        # failed, or landed with its answer lost): the marker stays, so that it is told whatever
        # becomes of the name before the message comes back.
        self._unmark_lost([i for i, ok in zip(items, won) if ok == 0])
        self.finish([i for i, ok in zip(items, won) if ok], state)
        self.queue.defer([i for i, ok in zip(items, won) if not ok])

    def _mark_deleted(self, ref: ObjectRef, generation: int, prior: dict, **fields) -> int | None:
        """`Ledger.mark_deleted` (0: the record changed meanwhile); None (logged) when the ledger or its
        name index failed, the write's outcome unknown: the item comes back and is judged again
        from what is there; the flush goes on."""
        try:
            return self.ledger.mark_deleted(ref, generation, prior, self.id, **fields)
        except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
            log(logger, logging.WARNING, f"recording a deletion failed; it comes back: {exc}", flush_id=self.id,
                object=ref.uri)
            return None

    def _marked_untold(self, items: list[Gone], state: str) -> list[Gone]:
        """With results on, each item's result marked in the ledger (untold) before its record says
        deleted: once the name is imported anew over that record, the marker is all that tells it.
        An item whose marker cannot be written comes back (its record still says what it did)."""
        if self.manifests.results is None:
            return items
        marked = []
        for item in items:
            try:
                result = deletion_result(self.ledger, item, state)
                marker = self.ledger.mark_untold(item.message.ref, result["manifest"], result)
            except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
                log(logger, logging.WARNING, f"marking a deletion's result failed; it comes back: {exc}",
                    flush_id=self.id, object=item.message.ref.uri)
                self.queue.defer([item])
                continue
            item.untold = [(marker, result)] + [(m, r) for m, r in item.untold if r.get("manifest") != result["manifest"]]
            marked.append(item)
        return marked

    def _unmark_lost(self, items: list[Gone]) -> None:
        """Remove the markers of deletions whose record another flush changed first: that flush
        records and tells the deletion; a marker of ours left behind would tell it again with our
        bytes under its result_id. (Each marker removed is the first of `item.untold`.)"""
        for item in items:
            if self.manifests.results is not None and item.untold:
                try:
                    self.ledger.told(item.untold.pop(0)[0])
                except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
                    log(logger, logging.WARNING, f"removing a deletion's marker failed: {exc}", flush_id=self.id,
                        object=item.message.ref.uri)

    def finish(self, items: list[Gone], state: str) -> None:
        """Log and count each outcome, publish its result (RESULTS_TOPIC), ack what was told."""
        for item in items:
            self._deletion_outcome(item, state)
        told = tell_deletions(self.manifests.results, self.ledger, items, state, self.id)
        self.queue.ack([a for i, ok in zip(items, told) if ok for a in i.ack_ids])
        self.queue.defer([i for i, ok in zip(items, told) if not ok])
        if self.guard is not None and state != HELD:
            self.guard.release([i for i, ok in zip(items, told) if ok])

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
        if item.left_ids and state in ("deleted", "left_unproven"):
            outcome["left_ids"] = list(item.left_ids)
            self.summary.assets_left_unproven += len(item.left_ids)
        log(logger, logging.WARNING if "left_ids" in outcome else logging.INFO, OUTCOMES[state], flush_id=self.id,
            **outcome)
        return outcome
