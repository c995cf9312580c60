"""Shipping a group of objects (the flush's `Shipping` part): claim each in the ledger, write the
manifest, send it.

Each object's claim begins in the background as soon as the flush admits it, for the manifest its
group will become (`_claim_early`), so that the ledger writes go on while the flush pulls and
sends. A group is shipped once it is full (and its claims are done), or has waited HOLD_S, or the
pulling ends. A group that is not sent (out of time, a destination that cannot work, a flush that
fails) gives its claims back (`_give_back`), so that nothing waits out a claim timeout for a
manifest that was never written. Objects whose claim is lost drop out here: duplicates, objects a
pending manifest carries, imports of a file deleted since (deletions.py), or a stale claim taken
over.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import Future, wait

from google.api_core import exceptions

from hub_import.core.assets import external_id, object_url
from hub_import.core.logs import log
from hub_import.core.routes import Destination
from hub_import.hub import HubError, HubNotFoundError
from hub_import.state.batch_budget import TemplateCapError
from hub_import.state.ledger import DELETED, DELETING, FAILED, SENT
from hub_import.state.manifests import FAILED as MANIFEST_FAILED
from hub_import.state.manifests import SENT as MANIFEST_SENT
from hub_import.state.store import ConflictError

from .crash_points import crash_point
from .destinations import asset_for, batch_guard
from .items import Item
from .soft_delete import Gone

logger = logging.getLogger(__name__)

# The longest a group waits for more objects before it is sent anyway (at most a quarter of the
# claim timeout): while files trickle in, a flush that keeps pulling must not hold the first of
# them until its budget ends (at most two Hub calls a minute per destination; a group that fills
# sooner is sent when full).
HOLD_S = 30
CLAIMS_AHEAD = 1000  # the most claims begun and not done: pulling stays this close to the ledger


def _maybe_ours(item: Item) -> bool:
    """Whether the item's early claim won, or may have (its outcome unknown)."""
    try:
        return item.claim is not None and item.claim.result().won
    except Exception:  # noqa: BLE001 - a claim of unknown outcome
        return True


class Shipping:
    # -- claims that begin as objects are admitted --------------------------------------------
    def _claim_early(self, item: Item, path: str, project: str) -> None:
        """Begin claiming the item's object for manifest `path` (bound for `project`), in the background."""
        ref = item.message.ref
        item.claim = self.pool.submit(self.ledger.claim, ref, path, self.id,
                                      external_id(ref, self.settings.external_id_template), project=project,
                                      data=object_url(ref, self.settings.url_template))
        item.claimed_for, item.claimed_at = ref.generation, time.time()
        self._claiming.append(item.claim)

    def _unclaim(self, deletions: list) -> list:
        """Give back the early claims of held imports whose name a deletion in hand concerns: the
        deletion is carried out first and the import, claimed again when its group ships, meets
        its record (an import of the generation deleted is dropped, a newer one imported). Returns
        the deletions to carry out now: one whose import's claim may still stand (its release, or
        the claim itself, of unknown outcome) waits, deferred, as a deletion meeting any fresh
        claim does; that import is claimed again all the same, and meets its own record if it stands."""
        by_key = {self.ledger.key(m.ref): (m, a) for m, a in deletions}
        items = [self._held[k] for k in by_key if k in self._held and self._held[k].claim is not None]
        released = self._give_back(items)
        unsure = {self.ledger.key(i.message.ref) for i in items if i not in released and _maybe_ours(i)}
        for item in items:
            item.claim, item.record_generation = None, 0
        waiting = [(m, a) for m, a in deletions if self.ledger.key(m.ref) in unsure]
        if waiting:
            log(logger, logging.INFO, "deletions deferred: the claim of a held import may still stand",
                flush_id=self.id, objects=len(waiting))
        self._defer([Gone(m, [a]) for m, a in waiting])
        return [(m, a) for m, a in deletions if self.ledger.key(m.ref) not in unsure]

    def _hold_s(self) -> float:
        return min(HOLD_S, self.lease_s / 4)

    def _ship_claimed(self, full: deque) -> None:
        """Ship the full groups whose claims are done, and (oldest first) as many more as it takes to
        pull no further ahead of the ledger than CLAIMS_AHEAD unfinished claims (memory stays flat)."""
        def forget_done():
            while self._claiming and self._claiming[0].done():
                self._claiming.popleft()
        forget_done()
        # (an item without a claim, given back for a deletion, is claimed again when it ships)
        while full and (len(self._claiming) > CLAIMS_AHEAD
                        or all(i.claim is None or i.claim.done() for i in full[0][1])):
            self._ship(*full.popleft())
            forget_done()
        while len(self._claiming) > CLAIMS_AHEAD:  # the claims of groups still filling
            wait([self._claiming.popleft()])

    def _give_back(self, items: list[Item]) -> list[Item]:
        """Release the claims these items hold (won early, or since: a take-over, a rewrite): they go
        back to the queue unsent, and must not wait for a claim timeout to be taken again. Returns
        the items surely released; a release that fails is logged (that claim goes stale, and the
        manifest it names is never written, so nothing is lost)."""
        held = []
        for item in items:
            try:
                claim = item.claim.result() if item.claim is not None else None
            except Exception:  # noqa: BLE001 - a claim of unknown outcome: it may hold, we cannot say
                claim = None
            if item.record_generation or (claim is not None and claim.won):
                held.append((item, item.record_generation or claim.generation))

        def release(row) -> bool:
            item, generation = row
            try:
                self.ledger.release(item.message.ref, generation)
                return True
            except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
                log(logger, logging.WARNING, f"giving a claim back failed; it goes stale: {exc}", flush_id=self.id,
                    object=item.message.ref.uri)
                return False
        return [item for (item, _), ok in zip(held, self.pool.map(release, held)) if ok]

    # -- shipping one group --------------------------------------------------------------------
    def _ship(self, dest: Destination, items: list[Item], path: str) -> None:
        """Send `items` as manifest `path` (the one their early claims name)."""
        for item in items:  # no message folds into an item once its group is being shipped
            self._held.pop(self.ledger.key(item.message.ref), None)
        if time.monotonic() >= self.deadline or self.summary.hub_unavailable:
            self._give_back(items)
            self._defer(items)  # out of time, or the Hub refuses us: a later flush takes them
            return
        try:
            batch_ids = self.hub.batch_ids(dest.project, dest.batches, create=self.settings.create_batches,
                                           deadline=self.deadline, before_create=batch_guard(self.batch_budget, dest))
        except (HubNotFoundError, TemplateCapError) as exc:
            self._give_back(items)
            self._fail_destination(dest, items, str(exc))
            return
        except (HubError, ConflictError) as exc:
            log(logger, logging.ERROR, f"cannot resolve batches for {dest.project}: {exc}", flush_id=self.id,
                project=dest.project, batches=list(dest.batches))
            self._give_back(items)
            self._defer(items)
            return
        for item in items:
            item.asset = asset_for(self.settings, item.message.ref, dest, batch_ids, item.message.size,
                                   flush_id=self.id)
        kept = self._claim_all(items, path, dest)
        if not kept:
            return
        claimed_at = min(i.claimed_at for i in kept)
        if time.time() - claimed_at > self.lease_s / 2:
            # So slow that another flush could soon take these claims over as stale: give them back.
            self._give_back(kept)  # (each kept item's record_generation is the claim it holds)
            log(logger, logging.WARNING, "claiming took too long; gave the claims back", flush_id=self.id,
                seconds=round(time.time() - claimed_at, 1), objects=len(kept))
            self._defer(kept)
            return
        self._extend(kept)
        crash_point("before-manifest")
        manifest = self.manifests.create(path, dest, [i.asset for i in kept], [i.message.ref for i in kept],
                                         self.id, self.lease_s)
        self.summary.manifests.append(path)
        crash_point("after-manifest")
        self._send(manifest, {i.asset.external_id: i for i in kept})

    def _fail_destination(self, dest: Destination, items: list[Item], reason: str) -> None:
        """A destination that cannot work as configured (a batch missing while HUB_CREATE_BATCHES is
        off, a project that does not exist, a batch template past MAX_TEMPLATE_BATCHES): its objects
        go into a failed manifest (shown by `status`) and onto the dead-letter topic with `reason`,
        instead of coming back unseen until Pub/Sub gives up on them. `replay --failed` or `replay
        --dead-letters` brings them back once it is fixed. No ledger record is kept (the claims made
        as they were admitted are given back first): nothing of them went anywhere."""
        assets = [asset_for(self.settings, i.message.ref, dest, size=i.message.size, flush_id=self.id) for i in items]
        path = self.manifests.new_path(self.id, failed=True)
        self.manifests.create(path, dest, assets, [i.message.ref for i in items], self.id, 0,
                              state=MANIFEST_FAILED, error=reason)
        self.summary.manifests.append(path)
        self.summary.failed += len(items)
        log(logger, logging.ERROR, f"cannot import into project {dest.project}: {reason}", flush_id=self.id,
            manifest=path, project=dest.project, batches=list(dest.batches), objects=len(items))
        confirmed = self._dead_letter_many([(*i.message.encode(), reason) for i in items])
        self._ack([a for i, ok in zip(items, confirmed) if ok for a in i.ack_ids])
        self._defer([i for i, ok in zip(items, confirmed) if not ok])

    def _claim_all(self, items: list[Item], path: str, dest: Destination) -> list[Item]:
        """Finish claiming each object for manifest `path` (those not claimed early are claimed now);
        returns the items this flush now carries. If any claim's outcome is unknown (the ledger
        failed), none of the group is sent: the manifest its claims name is never written, so a
        claim that did land goes stale and is taken over, and nothing is lost."""
        for item in items:
            if item.claim is None:
                self._claim_early(item, path, dest.project)
        wait([i.claim for i in items])
        if any(i.claim.exception() is not None for i in items):
            failure = next(i.claim.exception() for i in items if i.claim.exception() is not None)
            log(logger, logging.WARNING, f"claiming in the ledger failed; the group waits for a later flush: "
                f"{failure}", flush_id=self.id, manifest=path, objects=len(items))
            self._give_back(items)
            self._defer(items)
            return []
        for item in items:
            claim = item.claim.result()
            if claim.won and item.claimed_for != item.message.ref.generation:
                if not self._claim_newer(item, claim.generation, path, dest):
                    # Our claim names `path` for an older generation, or the rewrite's outcome is
                    # unknown: as with any unknown claim, the group is not sent.
                    self._give_back(items)
                    self._defer(items)
                    return []
        kept, duplicates, deferred, carried, gone = [], [], [], [], []
        try:
            for item in items:
                claim = item.claim.result()
                if claim.won:
                    item.record_generation = claim.generation
                    kept.append(item)
                    continue
                record = claim.existing.body if claim.existing else {}
                verdict = self._judge(item, record, claim.generation, path, dest)
                {"keep": kept, "duplicate": duplicates, "defer": deferred, "carried": carried,
                 "gone": gone}[verdict].append(item)
        except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
            # A take-over (or a read) failed: its outcome unknown, the group is not sent (as above).
            log(logger, logging.WARNING, f"judging a claim failed; the group waits for a later flush: {exc}",
                flush_id=self.id, manifest=path, objects=len(items))
            self._give_back(items)
            self._defer(items)
            return []
        self.summary.duplicates += sum(len(i.ack_ids) for i in duplicates)
        self.summary.deleted_before_import += len(gone)
        self._ack([a for i in duplicates + carried + gone for a in i.ack_ids])
        self._defer(deferred)
        return kept

    def _claim_newer(self, item: Item, generation: int, path: str, dest: Destination) -> bool:
        """Our early claim was made for an older generation than the one folded into the item since:
        rewrite it for the newer one (item.claim then holds the new claim). False (logged) if that failed."""
        try:
            claim = self.ledger.take_over(item.message.ref, generation, path, self.id, item.asset.external_id,
                                          project=dest.project, data=item.asset.data)
        except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
            log(logger, logging.WARNING, f"re-claiming for a newer generation failed: {exc}", flush_id=self.id,
                object=item.message.ref.uri)
            return False
        if not claim.won:
            return False
        item.claim, item.claimed_for = Future(), item.message.ref.generation
        item.claim.set_result(claim)
        return True

    def _judge(self, item: Item, record: dict, generation: int, path: str, dest: Destination) -> str:
        """An object whose ledger record exists: a duplicate, someone else's, ours to take over, or
        gone (deleted from the bucket before this generation was imported)."""
        state, manifest = record.get("state"), record.get("manifest", "")
        if state == DELETED:
            return self._after_deletion(item, record, generation, path)
        if state == DELETING:
            return "defer"  # its deletion is under way: judged again once it is done
        if state in (SENT, FAILED) or self._manifest_sent(manifest):
            return "duplicate"
        manifest_state = self.manifests.state_of(manifest) if manifest else None
        if manifest_state is not None:
            if manifest_state.get("state") in (MANIFEST_SENT, MANIFEST_FAILED):
                return "duplicate"
            return "carried"  # a pending manifest carries it; a flush or a resume finishes it
        mine = record.get("flush") == self.id and manifest == path and state not in (SENT, FAILED)
        if not mine and time.time() - float(record.get("at", 0)) < self.lease_s:
            return "defer"  # claimed moments ago by a flush that has not written its manifest yet
        # Stale, or this flush's own claim for this very manifest (an early claim whose answer was
        # lost, or not given back): taken over, so that the manifest the record names carries it.
        claim = self.ledger.take_over(item.message.ref, generation, path, self.id, item.asset.external_id,
                                      project=dest.project, data=item.asset.data)
        if claim.won:
            item.record_generation, item.claimed_at = claim.generation, time.time()
            log(logger, logging.WARNING, "took over a stale claim", flush_id=self.id,
                object=item.message.ref.uri, previous_flush=record.get("flush"))
            return "keep"
        return "defer"

    def _manifest_sent(self, path: str) -> bool:
        """Whether the ledger marks manifest `path` sent (cached: a sent manifest stays sent)."""
        if path not in self._sent_manifests and self.ledger.is_sent(path):
            self._sent_manifests.add(path)
        return path in self._sent_manifests
