"""The flush: drain the queue into manifests and into the Hub, each object exactly once.

One run, within FLUSH_BUDGET_SECONDS (and only while it holds the one-sender lease):
0. Send the dead letters failed manifests still owe (dead_letters.py `sweep_owed`; Pub/Sub only).
1. Check that the Hub answers, and (HUB_STORAGE_ID empty) find the landing bucket's storage
   integration in it (bucket_storage.py); if either fails, stop before pulling anything (so that
   an outage, or a deployment still waiting for its integration, spends no delivery attempt).
2. Finish pending manifests left by earlier runs whose lease ran out: ask the Hub which of
   their assets it already has, send the rest.
3. Pull up to 1000 messages at a time until the queue is empty or the budget is spent.
   Undecodable messages go to the dead-letter topic. Pulled messages are leased for the claim
   timeout at once. Objects are grouped by destination, each claimed in the ledger as it is
   admitted, and shipped whenever a group reaches MAX_ASSETS_PER_MANIFEST or has waited HOLD_S,
   and all groups at the end.
4. Shipping a group (shipper.py, claims.py, settler.py): its claims done (duplicates and objects
   another flush carries drop out here), write the manifest, send it, record the outcome, then ack.
   A 400 is split down to the bad assets: the good ones go in, the bad ones end in a failed
   manifest and on the dead-letter topic. What the Hub did not take, or may have taken
   (an unknown outcome), stays in a pending manifest that later flushes finish.
5. Deletions (ON_DELETE=delete) of each pull are carried out before its imports (deleter.py,
   soft_delete.py), at most MAX_DELETIONS_PER_HOUR in a rolling hour; the rest held (deletion_guard.py).
6. Whatever happened, the run ends by writing its health record (state/health.py): whether the Hub
   answered, what was pulled and sent, what waits and why, the backlog (backlog.py). `status`
   leads with it.
Nothing is acked before the Hub has accepted its object, it has been dead-lettered, or a
pending manifest in the state bucket carries it (resumed by every flush until it settles, so
the message need not come back every minute and spend its delivery attempts).
"""
from __future__ import annotations

import dataclasses
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor

from google.api_core import exceptions

from hub_import.core.admission import refusal
from hub_import.core.decisions import decide
from hub_import.core.logs import log
from hub_import.core.messages import DeletionMessage, MessageError, ObjectMessage, decode_message
from hub_import.core.objects import live_generation, live_object
from hub_import.core.settings import Settings
from hub_import.hub import HubClient, HubError
from hub_import.state import health
from hub_import.state.batch_budget import BatchBudget
from hub_import.state.held_deletions import DeletionWindow, HeldDeletions
from hub_import.state.lease import Lease
from hub_import.state.ledger import Ledger
from hub_import.state.manifests import ManifestStore
from hub_import.state.storage_record import StorageRecord

from . import dead_letters, heal, results
from .backlog import Backlog, read_backlog
from .batches import Batches
from .bucket_storage import BucketStorage
from .claims import Claims
from .deleter import Deleter
from .deletion_guard import DeletionGuard
from .resumer import Resumer
from .settler import Settler
from .shipper import Shipper
from .soft_delete import SoftDeleter
from .subscription import Subscription
from .summary import Summary
from .turn import Turn, sender_lease_s
from hub_import.core import clock

logger = logging.getLogger(__name__)

IO_THREADS = 32


class Flush:
    """One flush (see the module docstring): its parts, each given what it may touch, and `run()`,
    which coordinates them and returns the Summary."""

    def __init__(self, settings: Settings, hub: HubClient, state_store, subscriber, publisher,
                 flush_id: str | None = None, backlog=None):
        """`backlog`: reads the subscription's backlog for the health record (flush/backlog.py
        read_backlog, as deployed); None: not read (unknown)."""
        self.settings, self.hub = settings, hub
        self.state_store, self.read_backlog = state_store, backlog
        self.id = flush_id or clock.utcnow().strftime("%H%M%S") + secrets.token_hex(3)
        self.pool = ThreadPoolExecutor(IO_THREADS)
        self.turn = Turn.of(settings, self.id, self.pool)
        self.summary, self.lease_s = self.turn.summary, self.turn.lease_s
        # State in the state bucket.
        self.manifests = ManifestStore(state_store, settings.manifest_prefix,
                                       results.Results.of(settings, publisher, self.id, self.lease_s))
        self.ledger = Ledger(state_store, settings.ledger_prefix, settings.each_generation)
        self.lease = Lease(state_store, f"{settings.ledger_prefix}leases/flush.json", self.id)
        self.batch_budget = BatchBudget(state_store, settings.ledger_prefix, settings.max_template_batches)
        # The parts.
        def live(ref):  # the generation of ref's name live in its bucket now (asked only when needed)
            return live_generation(ref, state_store.bucket.client)

        def current(ref):  # the version of ref's name live in its bucket now (replay)
            return live_object(ref, state_store.bucket.client)
        self.live_object = current
        self.queue = Subscription(subscriber, publisher, self.turn)
        self.bucket_storage = BucketStorage(self.turn, hub, StorageRecord(state_store, settings.ledger_prefix))
        self.settler = Settler(self.turn, hub, self.ledger, self.manifests, self.queue)
        self.resumer = Resumer(self.turn, hub, self.ledger, self.manifests, self.settler)
        self.claims = Claims(self.turn, self.ledger, self.manifests, self.queue, live)
        self.batches = Batches(self.turn, hub, self.batch_budget)
        self.shipper = Shipper(self.turn, self.ledger, self.claims, self.manifests, self.batches, self.queue,
                               self.settler)
        guard = DeletionGuard(self.turn, self.ledger, HeldDeletions(state_store, settings.ledger_prefix),
                              DeletionWindow(state_store, settings.ledger_prefix))
        soft = SoftDeleter(self.turn, hub, self.ledger, self.manifests, self.queue, live, guard)
        self.deleter = Deleter(self.turn, self.ledger, self.manifests, self.queue, soft, live, guard)

    def run(self) -> Summary:
        started = self.turn.start()
        calls_before = self.hub.calls
        try:
            holder = self.lease.acquire(sender_lease_s(self.settings))
            if holder is None:
                self.turn.hold_lease(self.lease.until)  # no Hub call starts that could outlast it
            if holder is not None:
                self.summary.lease_held_by = str(holder.get("owner", "?"))
                self.summary.lease_held_until = clock.iso(clock.epoch(holder.get("until") or None))
                log(logger, logging.INFO, "another flush is sending; this one does nothing", flush_id=self.id,
                    holder=self.summary.lease_held_by, until=holder.get("until"))
            else:
                self._sweep_owed()
                if self._landing_known() and self._hub_answers() and self._storage_ready():
                    self.resumer.resume_pending()
                    heal.run_due(self.turn, self.hub, self.manifests, self.ledger)
                    self._drain()
        except BaseException as exc:
            self.summary.error = f"{type(exc).__name__}: {exc}"[:300]
            raise
        finally:
            results.finish(self.manifests, self.lease, self.summary, self.id)
            self.lease.release()
            self.summary.hub_calls = self.hub.calls - calls_before
            self.summary.seconds = round(clock.monotonic() - started, 3)
            self.pool.shutdown(wait=True)
            self._keep_health()
        fields = {k: v for k, v in self.summary.to_json().items() if k != "manifests"}
        log(logger, logging.INFO, "flush done", manifests_written=len(self.summary.manifests), **fields)
        return self.summary

    def _keep_health(self) -> None:
        """Write the health record (state/health.py): one read and one write; never fails the flush."""
        try:
            backlog = self.read_backlog(self.settings.subscription_path) if self.read_backlog else \
                Backlog(says="unknown: not read")
        except Exception as exc:  # noqa: BLE001 - a reader that fails makes the backlog unknown, nothing more
            backlog = Backlog(says=f"unknown: {type(exc).__name__}")
        health.keep(self.state_store, self.settings.ledger_prefix, self.summary, backlog,
                    landing_known=bool(self.settings.landing_bucket))

    def _sweep_owed(self) -> None:
        """Send the dead letters failed manifests still owe (dead_letters.py): Pub/Sub only, so
        whether or not the Hub answers; a state bucket that fails is tried again next time."""
        try:
            until = clock.monotonic() + min(60.0, self.settings.flush_budget_s / 4)  # a share of the budget at most
            dead_letters.sweep_owed(self.queue, self.manifests, self.id, self.lease_s,
                                    until=min(until, self.turn.deadline))
        except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
            log(logger, logging.WARNING, f"sending owed dead letters failed; the next flush tries again: {exc}",
                flush_id=self.id)

    def _landing_known(self) -> bool:
        """Whether LANDING_BUCKET is set: without it no message's bucket can be checked
        (core/admission.py), so nothing is pulled and nothing is dead-lettered meanwhile."""
        if self.settings.landing_bucket:
            return True
        log(logger, logging.ERROR, "LANDING_BUCKET is not set: the flush cannot tell which bucket's objects it may "
            "import, so it pulls nothing; set it to the bucket files land in", flush_id=self.id)
        return False

    def _hub_answers(self) -> bool:
        try:
            self.hub.ping(deadline=min(self.turn.deadline, clock.monotonic() + 30))
            return True
        except HubError as exc:
            self.summary.hub_unavailable = str(exc)
            log(logger, logging.ERROR if exc.status in (401, 403) else logging.WARNING,
                "the Hub does not answer; nothing pulled this time", flush_id=self.id, reason=str(exc))
            return False

    def _storage_ready(self) -> bool:
        """Whether the landing bucket's storage integration is known (bucket_storage.py); while it is
        not, nothing is pulled, so the messages wait in the subscription without spending attempts."""
        try:
            return self.bucket_storage.ready(deadline=min(self.turn.deadline, clock.monotonic() + 30))
        except HubError as exc:
            self.summary.hub_unavailable = str(exc)
            log(logger, logging.WARNING, "the Hub does not answer; nothing pulled this time", flush_id=self.id,
                reason=str(exc))
            return False

    def _drain(self) -> None:
        """Pull until the queue is empty, the pulling time is over or the Hub stops us; ship as it goes."""
        try:
            while not self.summary.hub_unavailable:
                if clock.monotonic() >= self.turn.pull_until:
                    self.summary.budget_exhausted = True
                    break
                self.shipper.close_waiting()
                self.shipper.ship_claimed()
                received = self.queue.pull()
                if not received:
                    self.summary.queue_empty = received is not None
                    break
                self.summary.pulled += len(received)
                # Their objects are claimed from now on: a message must not come back (should this flush
                # die) before its claim is stale enough to take over, or it would only be deferred again.
                self.queue.hold([r.ack_id for r in received])
                fresh, deletions = self._admit(received)
                # Deletions first: an import of the same name, in this pull or held from an earlier
                # one (its early claim given back), then meets their ledger record.
                self.deleter.delete_objects(self.shipper.unclaim(deletions))
                for item in fresh:
                    self.shipper.group(item)
            self.shipper.ship_all()
        except BaseException:
            # Whatever failed, the groups not yet shipped give their claims back and come back soon.
            self.shipper.abandon()
            raise

    def _admit(self, received) -> tuple[list, list]:
        """Decode, dead-letter what this deployment refuses (core/admission.py), drop what the rules
        now skip, hold the rest (a duplicate folds into the item already held); set deletions apart
        (DeletionMessage, ack id). Returns the new items."""
        fresh, deletions, done_ack_ids, poison = [], [], [], []
        for r in received:
            try:
                message = decode_message(r.message.data)
            except MessageError as exc:
                poison.append((r, str(exc)))
                continue
            if isinstance(message, ObjectMessage) and message.destination.storage is None:  # queued before the
                message = dataclasses.replace(  # integration was known
                    message, destination=self.bucket_storage.fill(message.destination))
            why = refusal(message, self.settings, self.bucket_storage.storage_id)
            if why:  # forged, or queued under routes since removed: a dead letter saying so
                poison.append((r, f"refused: {why}"))
                continue
            if isinstance(message, DeletionMessage):
                deletions.append((message, r.ack_id))
                continue
            if decide(message.ref, self.settings, resolve=False).destination is None:
                self.summary.skipped_by_rule += 1
                done_ack_ids.append(r.ack_id)
                continue
            item = self.shipper.admit(message, r.ack_id)
            if item is not None:
                fresh.append(item)
        # A poison message is acked only once its dead letter is confirmed; otherwise it comes back.
        confirmed = self.queue.dead_letter([(r.message.data, dict(r.message.attributes), why) for r, why in poison])
        done_ack_ids += [r.ack_id for (r, _), ok in zip(poison, confirmed) if ok]
        self.queue.ack(done_ack_ids)
        return fresh, deletions


_hub_clients: dict[tuple, HubClient] = {}


def hub_client(settings: Settings) -> HubClient:
    """One Hub client per process (and key): its pacing and batch cache span invocations."""
    key = (settings.hub_api_url, settings.require_api_key(), settings.requests_per_minute, settings.hub_timeout_s)
    if key not in _hub_clients:
        _hub_clients[key] = HubClient(settings.hub_api_url, settings.hub_api_key,
                                      requests_per_minute=settings.requests_per_minute,
                                      read_timeout=settings.hub_timeout_s)
    return _hub_clients[key]


def flush_once(settings: Settings) -> Summary:
    """One flush with this process's shared clients."""
    from hub_import.core.clients import publisher_client, storage_client, subscriber_client
    from hub_import.state.store import JsonStore

    store = JsonStore(storage_client().bucket(settings.state_bucket))
    return Flush(settings, hub_client(settings), store, subscriber_client(), publisher_client(),
                 backlog=read_backlog).run()
