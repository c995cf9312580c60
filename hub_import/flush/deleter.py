"""The deleter: deletions that follow the bucket (ON_DELETE=delete), judged object by object.

A deletion message (queue.DeletionMessage) says that a generation of an object left the landing
bucket while no generation of its name was live. The flush takes the deletions of each pull
before its imports, so that an import of the same name meets their ledger record. For each
object (its redelivered messages folded into one):
1. The bucket, again: a generation live now means an overwrite or an upload since. The asset's
   default data URL names the object, not a generation, so it shows the new content: acked,
   nothing deleted; unless a deletion of it was told and Pub/Sub did not confirm it
   (deletion_results.py): that result is told again first, and acked once confirmed.
2. Its ledger record. None (never imported), failed (never reached the Hub), or a claim whose
   flush died before writing its manifest (nothing was sent): recorded deleted, so that an
   import of that generation still in the queue is dropped; acked. Deleted already: acked. Its
   import under way (a pending manifest, a fresh claim): deferred until that settles.
3. The guard (deletion_guard.py, MAX_DELETIONS_PER_HOUR): past the limit in a rolling hour, held
   (recorded in the state bucket, acked; the asset stays until `deletions --approve`).
4. The Hub (soft_delete.py): the assets this product created for it, found by exact externalId and data URL in
   its project (the record's; for a record older than deletions, its manifest's destination,
   else today's route), the bucket asked once more, then soft-deleted in batches of
   DELETE_BATCH at the Hub's pace; the ledger records the deletion, and only then the ack.
   An import sent less than HUB_SETTLE_SECONDS ago whose asset is not listed (the listing may
   lag) is looked for again later, and a row that cannot be proven ours is never deleted.
A DELETE whose answer is lost is not repeated: its messages come back, and the next try lists
the assets again and deletes only what is still there. Each object's outcome goes through
`SoftDeleter.finish`.
"""
from __future__ import annotations

import logging
from hub_import.core import clock
from collections import defaultdict
from typing import Callable

from google.api_core import exceptions

from hub_import.core.assets import external_id, object_url
from hub_import.core.decisions import decide
from hub_import.core.logs import log
from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.state.ledger import DELETED, DELETING, FAILED, SENT, Ledger
from hub_import.state.manifests import FAILED as MANIFEST_FAILED
from hub_import.state.manifests import SENT as MANIFEST_SENT
from hub_import.state.manifests import ManifestStore

from .deletion_guard import APPROVED, DISCARDED, DeletionGuard
from .deletion_results import HELD, RETOLD
from .soft_delete import Gone, SoftDeleter, lookup_allowance, still_live
from .subscription import Subscription
from .turn import Turn

logger = logging.getLogger(__name__)

IN_HUB, DEFER = "in_hub", "defer"


class Deleter:
    """Carries out, for one flush (`turn`), the deletions of each pull: judged against the bucket
    (`live`: an object's live generation) and the ledger, those whose assets are in the Hub handed
    to the soft deleter, every other outcome finished (told and acked) through it."""

    def __init__(self, turn: Turn, ledger: Ledger, manifests: ManifestStore, queue: Subscription, soft: SoftDeleter,
                 live: Callable[[ObjectRef], int | None], guard: DeletionGuard | None = None):
        self.turn, self.ledger, self.manifests, self.queue, self.soft = turn, ledger, manifests, queue, soft
        self.live, self.guard = live, guard
        self.settings, self.summary, self.id = turn.settings, turn.summary, turn.id

    def delete_objects(self, received: list[tuple[DeletionMessage, str]]) -> None:
        """Carry out the deletions of one pull (message, ack id); see the module docstring."""
        if not received:
            return
        items = self._fold(received)
        if not self.settings.delete_follows:
            self.soft.finish(items, "ignored")
            return
        if self.turn.out_of_time() or self.summary.hub_unavailable:
            self.queue.defer(items)
            return
        self.queue.extend(items)
        verdicts = list(self.turn.pool.map(self._look, items))
        bound: dict[str, list[Gone]] = defaultdict(list)
        done: dict[str, list[Gone]] = defaultdict(list)
        deferred = [i for i, v in zip(items, verdicts) if v == DEFER]
        for item, verdict in zip(items, verdicts):
            if verdict == IN_HUB:
                bound[item.project].append(item)
            elif verdict != DEFER:
                done[verdict].append(item)
        for verdict, finished in done.items():
            self.soft.finish(finished, verdict)
        allowance = lookup_allowance(self.turn)
        for project, group in list(bound.items()):
            if len(group) > allowance:  # per-id lookups cost a call each: the rest waits for a later turn
                deferred += group[allowance:]
                bound[project] = group = group[:allowance]
            allowance -= len(group)
        if self.guard is not None:  # MAX_DELETIONS_PER_HOUR: past it, held (deletion_guard.py)
            go, held, discarded, later = self.guard.admit([i for group in bound.values() for i in group])
            self.soft.finish(held, HELD)
            self.soft.finish(discarded, DISCARDED)
            deferred += later
            going = {id(i) for i in go}
            bound = {p: [i for i in group if id(i) in going] for p, group in bound.items()}
        for project, group in bound.items():
            if group:
                self.soft.delete_in_hub(project, group)
        if self.guard is not None:  # the counts of those no DELETE was sent for
            self.guard.give_back([i for group in bound.values() for i in group])
        if deferred:
            log(logger, logging.INFO, "deletions deferred: their import is under way, or this turn is full",
                flush_id=self.id, objects=len(deferred))
            self.queue.defer(deferred)

    def _fold(self, received: list[tuple[DeletionMessage, str]]) -> list[Gone]:
        """One item per ledger key, for the newest generation said gone, with every message's ack id."""
        items: dict[str, Gone] = {}
        for message, ack_id in received:
            key = self.ledger.key(message.ref)
            if key not in items:
                items[key] = Gone(message, [ack_id], approved=message.source == APPROVED,
                                  fresh=message.source != APPROVED)
                continue
            items[key].ack_ids.append(ack_id)
            items[key].approved |= message.source == APPROVED
            items[key].fresh |= message.source != APPROVED
            if message.ref.generation > items[key].message.ref.generation:
                items[key].message = message
        return list(items.values())

    # -- the bucket and the ledger ----------------------------------------------------------------
    def _look(self, item: Gone) -> str:
        """An outcome for `item`, IN_HUB (project, externalId and URL found), or DEFER."""
        ref = item.message.ref
        try:
            item.record = doc = self.ledger.read(ref)
        except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
            log(logger, logging.WARNING, f"reading the ledger for a deletion failed; it comes back: {exc}",
                flush_id=self.id, object=ref.uri)
            return DEFER
        if self._untold(item) == DEFER:  # every outcome tells these too, before any ack (deletion_results.py)
            return DEFER
        body = doc.body if doc else {}
        if body.get("state") == DELETING:  # a DELETE was sent, its answer lost: finish it, live or not
            item.intent_ids = list(body.get("asset_ids") or [])
            return self._locate(item)
        live = still_live(self.live, item.message.ref, self.id)
        if live is not False:  # a deletion told but not confirmed is owed all the same
            return (RETOLD if item.untold else "overwritten") if live else DEFER
        state, manifest = body.get("state"), body.get("manifest", "")
        if doc is None or state == FAILED:
            return self._tombstone(item)
        if state == DELETED:
            item.project, item.external_id = body.get("project", ""), body.get("external_id", "")
            if ref.generation > int(body.get("deleted_generation") or 0):
                # A later generation, uploaded after the deletion and gone before it was imported: a
                # deletion of its own (told as such), the earlier one's asset ids not carried over.
                prior = {k: v for k, v in body.items() if k != "asset_ids"}
                won = self._mark_deleted(ref, doc.generation, prior, note="never in the Hub", at=item.at)
                return "not_imported" if won else DEFER
            return RETOLD if item.untold else "already_deleted"
        if state == SENT or self.ledger.is_sent(manifest):
            item.sent_at = float(body.get("at") or 0) if state == SENT else self.ledger.sent_at(manifest)
            return self._locate(item)
        manifest_doc = (self.manifests.state_of(manifest) or {}) if manifest else {}
        manifest_state = manifest_doc.get("state")
        if manifest_state == MANIFEST_SENT:
            item.sent_at = float(manifest_doc.get("settled_at") or manifest_doc.get("updated_at") or 0)
            return self._locate(item)
        if manifest_state == MANIFEST_FAILED:
            return self._tombstone(item)
        if manifest_state is None and clock.now() - float(body.get("at", 0)) >= self.turn.lease_s:
            return self._tombstone(item)  # its flush died before writing the manifest: nothing was sent
        return DEFER  # its import is under way: the deletion waits until it settles

    def _untold(self, item: Gone) -> str | None:
        """RETOLD when deletions of the object were told and Pub/Sub did not confirm them (their
        markers in `item.untold`), DEFER when the ledger cannot say, else None."""
        if self.manifests.results is None:
            return None  # results off: nothing is ever told, nor marked
        try:
            item.untold = self.ledger.untold(item.message.ref)
        except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
            log(logger, logging.WARNING, f"reading the deletions not yet told failed; it comes back: {exc}",
                flush_id=self.id, object=item.message.ref.uri)
            return DEFER
        return RETOLD if item.untold else None

    def _tombstone(self, item: Gone) -> str:
        """Record an object that left before any asset of it reached the Hub."""
        doc = item.record
        if doc is not None:  # as the record keeps them, so that a deletion told again says the same
            item.project, item.external_id = doc.body.get("project", ""), doc.body.get("external_id", "")
        won = self._mark_deleted(item.message.ref, doc.generation if doc else 0, doc.body if doc else {},
                                 note="never in the Hub", at=item.at)
        return "not_imported" if won else DEFER

    def _mark_deleted(self, ref: ObjectRef, generation: int, prior: dict, **fields) -> int:
        """`Ledger.mark_deleted`, 0 (logged) when the ledger or its name index failed: that deletion
        comes back (its record written or not, the next look judges what is there); the flush goes on."""
        try:
            return self.ledger.mark_deleted(ref, generation, prior, self.id, **fields)
        except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
            log(logger, logging.WARNING, f"recording a deletion failed; it comes back: {exc}", flush_id=self.id,
                object=ref.uri)
            return 0

    def _locate(self, item: Gone) -> str:
        """Where the object's asset went: project, externalId, data URL (see the module docstring)."""
        body, ref = item.record.body, item.message.ref
        # The generation imported (its URL and externalId may name it).
        imported = ObjectRef(ref.bucket, ref.name, int(body.get("generation") or ref.generation))
        item.external_id = body.get("external_id") or external_id(imported, self.settings.external_id_template)
        item.project, item.data = body.get("project", ""), body.get("data", "")
        if not item.project and body.get("manifest"):
            manifest = self.manifests.load(body["manifest"])
            if manifest is not None:
                item.project = manifest.destination.project
                item.data = next((a.data for a in manifest.assets if a.external_id == item.external_id), "")
        if not item.project:
            destination = (decide(imported, self.settings, resolve=False, content=False).destination
                           or self.settings.default or self.settings.routes[0].destination)
            item.project = destination.project
        item.data = item.data or object_url(imported, self.settings.url_template)
        return IN_HUB
