"""Claims: each object the flush holds, claimed in the ledger for the manifest its group will become.

A claim begins in the background as soon as the flush admits the object (`claim_early`), so that
the ledger writes go on while the flush pulls and sends. When its group ships, `claim_all`
finishes the claims and keeps the objects this flush now carries: duplicates, objects a pending
manifest carries, imports of a file deleted since, or a claim another flush holds drop out here,
and a stale claim is taken over. A group that is not sent gives its claims back (`give_back`), so
that nothing waits out a claim timeout for a manifest that was never written.

The rule that keeps this once: a ledger record names manifest P only if P carries its object, or P
is never written. So if any claim's outcome is unknown, or a rewrite or take-over fails, the whole
group is given back and deferred instead of sent.
"""
from __future__ import annotations

import logging
from hub_import.core import clock
from collections import deque
from concurrent.futures import Future, wait
from typing import Callable

from google.api_core import exceptions

from hub_import.core.assets import external_id, object_url
from hub_import.core.logs import log
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.state.ledger import DELETED, DELETING, FAILED, SENT, Ledger
from hub_import.state.manifests import FAILED as MANIFEST_FAILED
from hub_import.state.manifests import SENT as MANIFEST_SENT
from hub_import.state.manifests import ManifestStore

from .dead_letters import owes, settle_owed
from .items import Item
from .subscription import Subscription
from .turn import Turn

logger = logging.getLogger("hub_import.flush.shipper")

CLAIMS_AHEAD = 1000  # the most claims begun and not done: pulling stays this close to the ledger


def maybe_ours(item: Item) -> bool:
    """Whether the item's early claim won, or may have (its outcome unknown)."""
    try:
        return item.claim is not None and item.claim.result().won
    except Exception:  # noqa: BLE001 - a claim of unknown outcome
        return True


class Claims:
    """The ledger claims of one flush (`turn`): begun early, finished and judged when a group ships,
    given back when it does not. Duplicates and objects carried elsewhere are acked on the queue,
    what must wait is deferred; `live` answers an object's live generation (GCS)."""

    def __init__(self, turn: Turn, ledger: Ledger, manifests: ManifestStore, queue: Subscription,
                 live: Callable[[ObjectRef], int | None]):
        self.turn, self.ledger, self.manifests, self.queue, self.live = turn, ledger, manifests, queue, live
        self.settings, self.summary, self.id = turn.settings, turn.summary, turn.id
        self.begun: deque[Future] = deque()  # claims begun and maybe not done, oldest first

    def claim_early(self, item: Item, path: str, project: str) -> None:
        """Begin claiming the item's object for manifest `path` (bound for `project`), in the background."""
        ref = item.message.ref
        item.claim = self.turn.pool.submit(self.ledger.claim, ref, path, self.id,
                                           external_id(ref, self.settings.external_id_template), project=project,
                                           data=object_url(ref, self.settings.url_template))
        item.claimed_for, item.claimed_at = ref.generation, clock.now()
        self.begun.append(item.claim)

    def too_far_ahead(self) -> bool:
        """Whether more than CLAIMS_AHEAD claims are begun and not done (forgetting those done)."""
        while self.begun and self.begun[0].done():
            self.begun.popleft()
        return len(self.begun) > CLAIMS_AHEAD

    def wait_until_near(self) -> None:
        """Wait, oldest first, until no more than CLAIMS_AHEAD claims are unfinished."""
        while self.too_far_ahead():
            wait([self.begun.popleft()])

    def give_back(self, items: list[Item]) -> list[Item]:
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
        return [item for (item, _), ok in zip(held, self.turn.pool.map(release, held)) if ok]

    def claim_all(self, items: list[Item], path: str, dest: Destination) -> list[Item]:
        """Finish claiming each object for manifest `path` (those not claimed early are claimed now);
        returns the items this flush now carries. If any claim's outcome is unknown (the ledger
        failed), none of the group is sent: the manifest its claims name is never written, so a
        claim that did land goes stale and is taken over, and nothing is lost."""
        for item in items:
            if item.claim is None:
                self.claim_early(item, path, dest.project)
        wait([i.claim for i in items])
        if any(i.claim.exception() is not None for i in items):
            failure = next(i.claim.exception() for i in items if i.claim.exception() is not None)
            log(logger, logging.WARNING, f"claiming in the ledger failed; the group waits for a later flush: "
                f"{failure}", flush_id=self.id, manifest=path, objects=len(items))
            self.give_back(items)
            self.queue.defer(items)
            return []
        for item in items:
            claim = item.claim.result()
            if claim.won and item.claimed_for != item.message.ref.generation:
                if not self._claim_newer(item, claim.generation, path, dest):
                    # Our claim names `path` for an older generation, or the rewrite's outcome is
                    # unknown: as with any unknown claim, the group is not sent.
                    self.give_back(items)
                    self.queue.defer(items)
                    return []
        kept, duplicates, deferred, carried, gone, rejected = [], [], [], [], [], []
        try:
            for item in items:
                claim = item.claim.result()
                if claim.won:
                    item.record_generation = claim.generation
                    kept.append(item)
                    continue
                record = claim.existing.body if claim.existing else {}
                verdict = self._judge(item, record, claim.generation, path, dest)
                if verdict == "rejected":
                    rejected.append((item, record.get("manifest")))
                    continue
                {"keep": kept, "duplicate": duplicates, "defer": deferred, "carried": carried,
                 "gone": gone}[verdict].append(item)
        except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
            # A take-over (or a read) failed: its outcome unknown, the group is not sent (as above).
            log(logger, logging.WARNING, f"judging a claim failed; the group waits for a later flush: {exc}",
                flush_id=self.id, manifest=path, objects=len(items))
            self.give_back(items)
            self.queue.defer(items)
            return []
        self.summary.duplicates += sum(len(i.ack_ids) for i in duplicates)
        self.summary.deleted_before_import += len(gone)
        confirmed = settle_owed(self.queue, self.manifests, rejected, self.id)
        dead_lettered = [i for (i, _), ok in zip(rejected, confirmed) if ok]
        deferred += [i for (i, _), ok in zip(rejected, confirmed) if not ok]
        self.queue.ack([a for i in duplicates + carried + gone + dead_lettered for a in i.ack_ids])
        self.queue.defer(deferred)
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
        if state == DELETED and manifest and self._owed_before_deletion(item, record, manifest):
            return "rejected"  # rejected, then deleted before its dead letter was confirmed: owed still
        if state == DELETED:
            return self._after_deletion(item, record, generation, path)
        if state == DELETING:
            return "defer"  # its deletion is under way: judged again once it is done
        if state == FAILED and manifest and owes(self.manifests.state_of(manifest), item.asset.external_id):
            return "rejected"  # rejected by the Hub, its dead letter never confirmed: dead-lettered now
        if state in (SENT, FAILED) or self.ledger.is_sent(manifest):
            return "duplicate"
        manifest_state = self.manifests.state_of(manifest) if manifest else None
        if manifest_state is not None:
            if manifest_state.get("state") in (MANIFEST_SENT, MANIFEST_FAILED):
                return "duplicate"
            return "carried"  # a pending manifest carries it; a flush or a resume finishes it
        mine = record.get("flush") == self.id and manifest == path and state not in (SENT, FAILED)
        if not mine and clock.now() - float(record.get("at", 0)) < self.turn.lease_s:
            return "defer"  # claimed moments ago by a flush that has not written its manifest yet
        # Stale, or this flush's own claim for this very manifest (an early claim whose answer was
        # lost, or not given back): taken over, so that the manifest the record names carries it.
        claim = self.ledger.take_over(item.message.ref, generation, path, self.id, item.asset.external_id,
                                      project=dest.project, data=item.asset.data)
        if claim.won:
            item.record_generation, item.claimed_at = claim.generation, clock.now()
            log(logger, logging.WARNING, "took over a stale claim", flush_id=self.id,
                object=item.message.ref.uri, previous_flush=record.get("flush"))
            return "keep"
        return "defer"

    def _owed_before_deletion(self, item, record: dict, manifest: str) -> bool:
        """Whether this message is of a generation the Hub rejected, whose dead letter its failed
        manifest still owes, and that left the bucket since (a deletion keeps the record's manifest)."""
        deleted = int(record.get("deleted_generation") or record.get("generation") or 0)
        return item.message.ref.generation <= deleted and \
            owes(self.manifests.state_of(manifest), item.asset.external_id)

    def _after_deletion(self, item, record: dict, generation: int, path: str) -> str:
        """An import meeting a ledger record marked deleted (at `generation`): "gone" when its
        generation is the one that left the bucket, or older; else the name was uploaded again,
        and it claims the record anew for manifest `path`: "keep", or "defer" if another was faster."""
        ref = item.message.ref
        live = None
        if ref.generation <= int(record.get("deleted_generation") or record.get("generation") or 0):
            live = self._live_now(ref)
            if live is None:
                return "defer"
        if live is False:
            log(logger, logging.INFO, "not imported: the object left the bucket first", flush_id=self.id,
                object=ref.uri, generation=ref.generation, deleted_generation=record.get("deleted_generation"))
            return "gone"
        claim = self.ledger.take_over(ref, generation, path, self.id, item.asset.external_id,
                                      project=item.message.destination.project, data=item.asset.data)
        if not claim.won:
            return "defer"
        item.record_generation = claim.generation
        log(logger, logging.INFO, "imported anew: uploaded again after its deletion", flush_id=self.id,
            object=ref.uri, generation=ref.generation, deleted_generation=record.get("deleted_generation"))
        return "keep"

    def _live_now(self, ref: ObjectRef) -> bool | None:
        """Whether exactly this generation is live: then it is imported whatever a deletion record
        says (a deletion message claiming a later generation than was ever uploaded must not
        block the name). None when GCS cannot say (the import waits for a later flush)."""
        try:
            return self.live(ref) == ref.generation
        except (exceptions.GoogleAPICallError, exceptions.RetryError):
            return None
