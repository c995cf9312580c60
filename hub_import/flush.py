"""The flush: drain the queue into manifests and into the Hub, each object exactly once.

One run, within FLUSH_BUDGET_SECONDS:
1. Check that the Hub answers; if it does not, stop before pulling anything (so that an outage
   does not spend the messages' delivery attempts).
2. Finish pending manifests left by earlier runs whose lease ran out: ask the Hub which of
   their assets it already has, send the rest.
3. Pull up to 1000 messages at a time until the queue is empty or the budget is spent.
   Undecodable messages go to the dead-letter topic. Objects are grouped by destination and
   shipped whenever a group reaches MAX_ASSETS_PER_MANIFEST, and all groups at the end.
4. Shipping a group: claim each object in the ledger (duplicates and objects another flush
   carries drop out here), write the manifest, send it, record the outcome, then ack.
   A 400 is split down to the bad assets: the good ones go in, the bad ones end in a failed
   manifest and on the dead-letter topic. What the Hub did not take, or may have taken
   (an unknown outcome), stays in a pending manifest that later flushes finish.
5. Deletions (ON_DELETE=delete) of each pull are carried out before its imports (deletions.py).
Nothing is acked before the Hub has accepted its object, it has been dead-lettered, or a
pending manifest in the state bucket carries it (resumed by every flush until it settles, so
the message need not come back every minute and spend its delivery attempts).
"""
from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

from google.api_core import exceptions

from .batch_budget import BatchBudget, TemplateCapError
from .config import Settings
from . import heal, results
from .flush_parts import Item, Summary, _crash_point, asset_for, batch_guard, claim_timeout_s
from .gcs import ConflictError
from .hub import HubClient, HubError, HubNotFoundError
from .lease import Lease
from .deletions import Deleting
from .ledger import DELETED, DELETING, FAILED, SENT, Ledger
from .logs import log
from .manifests import ManifestStore
from .manifests import FAILED as MANIFEST_FAILED
from .manifests import SENT as MANIFEST_SENT
from .queue import DeletionMessage, MessageError, decode_message
from .routes import Destination, decide
from .resume import Resuming
from .settle import Settling
from .subscription import Subscription

logger = logging.getLogger(__name__)

PULL_MAX = 1000
PULL_WAIT_S = 2.0  # an empty queue answers a pull by letting it time out
DEFER_S = 60  # a deferred message comes back after this long (or half the claim timeout, if shorter)
MAX_ACK_DEADLINE_S = 600  # Pub/Sub's maximum
IO_THREADS = 32
# The most of a flush's Hub calls that settling earlier unknown outcomes may take, so that the
# queue keeps draining while a large reconcile goes on over several flushes.
RECONCILE_SHARE = 0.25


class Flush(Resuming, Settling, Deleting):
    """One flush (see the module docstring); `run()` does it and returns its Summary."""

    def __init__(self, settings: Settings, hub: HubClient, state_store, subscriber, publisher,
                 flush_id: str | None = None):
        self.settings, self.hub = settings, hub
        self.subscriber, self.publisher = subscriber, publisher
        self.id = flush_id or time.strftime("%H%M%S") + secrets.token_hex(3)
        self.lease_s = claim_timeout_s(settings)
        self.manifests = ManifestStore(state_store, settings.manifest_prefix,
                                       results.Results.of(settings, publisher, self.id, self.lease_s))
        self.ledger = Ledger(state_store, settings.ledger_prefix, settings.each_generation)
        self.summary = Summary(self.id)
        self.pool = ThreadPoolExecutor(IO_THREADS)
        self.lease = Lease(state_store, f"{settings.ledger_prefix}leases/flush.json", self.id)
        self.batch_budget = BatchBudget(state_store, settings.ledger_prefix, settings.max_template_batches)
        rpm = settings.requests_per_minute
        self.reconcile_budget = max(5, int(RECONCILE_SHARE * settings.flush_budget_s * rpm / 60)) if rpm else 1000
        self._sent_manifests: set[str] = set()
        self.deletion_outcomes: list[dict] = []  # what became of each deletion (deletions.py)

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> Summary:
        started = time.monotonic()
        self.deadline = started + self.settings.flush_budget_s
        # Stop pulling while a quarter of the budget (at most a minute) is left to send with.
        self.pull_until = self.deadline - min(60.0, self.settings.flush_budget_s / 4)
        calls_before = self.hub.calls
        try:
            holder = self.lease.acquire(self.settings.flush_budget_s + self.settings.hub_timeout_s + 10)
            if holder is not None:
                self.summary.lease_held_by = str(holder.get("owner", "?"))
                log(logger, logging.INFO, "another flush is sending; this one does nothing", flush_id=self.id,
                    holder=self.summary.lease_held_by, until=holder.get("until"))
            elif self._hub_answers():
                self._resume_pending()
                heal.run_due(self)
                self._drain()
        finally:
            results.finish(self)
            self.lease.release()
            self.summary.hub_calls = self.hub.calls - calls_before
            self.summary.seconds = round(time.monotonic() - started, 3)
            self.pool.shutdown(wait=True)
        fields = {k: v for k, v in self.summary.to_json().items() if k != "manifests"}
        log(logger, logging.INFO, "flush done", manifests_written=len(self.summary.manifests), **fields)
        return self.summary

    def _hub_answers(self) -> bool:
        try:
            self.hub.ping(deadline=min(self.deadline, time.monotonic() + 30))
            return True
        except HubError as exc:
            self.summary.hub_unavailable = str(exc)
            log(logger, logging.ERROR if exc.status in (401, 403) else logging.WARNING,
                "the Hub does not answer; nothing pulled this time", flush_id=self.id, reason=str(exc))
            return False

    def _drain(self) -> None:
        groups: dict[Destination, dict[str, Item]] = defaultdict(dict)
        held: dict[str, Item] = {}  # ledger key -> the item buffered for it, not yet shipped
        size = self.settings.max_assets_per_manifest
        while not self.summary.hub_unavailable:
            if time.monotonic() >= self.pull_until:
                self.summary.budget_exhausted = True
                break
            received = self._pull()
            if not received:
                self.summary.queue_empty = received is not None
                break
            self.summary.pulled += len(received)
            fresh, deletions = self._admit(received, held)
            # Deletions first: an import of the same name in this pull then meets their ledger record.
            self._delete_objects(deletions)
            for key, item in fresh:
                dest = item.message.destination
                groups[dest][key] = item
                if len(groups[dest]) >= size:
                    shipped = groups.pop(dest)
                    for k in shipped:
                        held.pop(k, None)
                    self._ship(dest, list(shipped.values()))
        for dest, items in groups.items():
            chunk = list(items.values())
            for start in range(0, len(chunk), size):
                self._ship(dest, chunk[start:start + size])

    def _admit(self, received, held: dict[str, Item]) -> tuple[list[tuple[str, Item]], list]:
        """Decode, drop what the rules now skip, fold duplicates into the item already held; set
        deletions apart (DeletionMessage, ack id)."""
        fresh: list[tuple[str, Item]] = []
        deletions: list[tuple[DeletionMessage, str]] = []
        done_ack_ids: list[str] = []
        poison = []
        for r in received:
            try:
                message = decode_message(r.message.data)
            except MessageError as exc:
                poison.append((r, str(exc)))
                continue
            if isinstance(message, DeletionMessage):
                deletions.append((message, r.ack_id))
                continue
            if decide(message.ref, self.settings, resolve=False).destination is None:
                self.summary.skipped_by_rule += 1
                done_ack_ids.append(r.ack_id)
                continue
            key = self.ledger.key(message.ref)
            if key in held:
                held[key].ack_ids.append(r.ack_id)
                self.summary.duplicates += 1
                if message.ref.generation > held[key].message.ref.generation:
                    held[key].message = message  # the newest upload is the one judged against a deletion
                continue
            held[key] = Item(message, [r.ack_id])
            fresh.append((key, held[key]))
        # A poison message is acked only once its dead letter is confirmed; otherwise it comes back.
        confirmed = self._dead_letter_many([(r.message.data, dict(r.message.attributes), why) for r, why in poison])
        done_ack_ids += [r.ack_id for (r, _), ok in zip(poison, confirmed) if ok]
        self._ack(done_ack_ids)
        return fresh, deletions

    # -- shipping one group --------------------------------------------------------------------
    def _ship(self, dest: Destination, items: list[Item]) -> None:
        if time.monotonic() >= self.deadline or self.summary.hub_unavailable:
            self._defer(items)  # out of time, or the Hub refuses us: a later flush takes them
            return
        try:
            batch_ids = self.hub.batch_ids(dest.project, dest.batches, create=self.settings.create_batches,
                                           deadline=self.deadline, before_create=batch_guard(self.batch_budget, dest))
        except (HubNotFoundError, TemplateCapError) as exc:
            self._fail_destination(dest, items, str(exc))
            return
        except (HubError, ConflictError) as exc:
            log(logger, logging.ERROR, f"cannot resolve batches for {dest.project}: {exc}", flush_id=self.id,
                project=dest.project, batches=list(dest.batches))
            self._defer(items)
            return
        for item in items:
            item.asset = asset_for(self.settings, item.message.ref, dest, batch_ids, item.message.size,
                                   flush_id=self.id)
        path = self.manifests.new_path(self.id)
        claimed_at = time.time()
        kept = self._claim_all(items, path)
        if not kept:
            return
        if time.time() - claimed_at > self.lease_s / 2:
            # So slow that another flush could soon take these claims over as stale: give them back.
            list(self.pool.map(lambda i: self.ledger.release(i.message.ref, i.record_generation), kept))
            log(logger, logging.WARNING, "claiming took too long; gave the claims back", flush_id=self.id,
                seconds=round(time.time() - claimed_at, 1), objects=len(kept))
            self._defer(kept)
            return
        self._extend(kept)
        _crash_point("before-manifest")
        manifest = self.manifests.create(path, dest, [i.asset for i in kept], [i.message.ref for i in kept],
                                         self.id, self.lease_s)
        self.summary.manifests.append(path)
        _crash_point("after-manifest")
        self._send(manifest, {i.asset.external_id: i for i in kept})

    def _fail_destination(self, dest: Destination, items: list[Item], reason: str) -> None:
        """A destination that cannot work as configured (a batch missing while HUB_CREATE_BATCHES is
        off, a project that does not exist, a batch template past MAX_TEMPLATE_BATCHES): its objects
        go into a failed manifest (shown by `status`) and onto the dead-letter topic with `reason`,
        instead of coming back unseen until Pub/Sub gives up on them. `replay --failed` or `replay
        --dead-letters` brings them back once it is fixed. No ledger record is written: nothing of
        them went anywhere."""
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

    def _claim_all(self, items: list[Item], path: str) -> list[Item]:
        """Claim each object for manifest `path`; returns the items this flush now carries."""
        outcomes = list(self.pool.map(lambda i: (i, self.ledger.claim(
            i.message.ref, path, self.id, i.asset.external_id, project=i.message.destination.project,
            data=i.asset.data)), items))
        kept, duplicates, deferred, carried, gone = [], [], [], [], []
        for item, claim in outcomes:
            if claim.won:
                item.record_generation = claim.generation
                kept.append(item)
                continue
            record = claim.existing.body if claim.existing else {}
            verdict = self._judge(item, record, claim.generation, path)
            {"keep": kept, "duplicate": duplicates, "defer": deferred, "carried": carried,
             "gone": gone}[verdict].append(item)
        self.summary.duplicates += sum(len(i.ack_ids) for i in duplicates)
        self.summary.deleted_before_import += len(gone)
        self._ack([a for i in duplicates + carried + gone for a in i.ack_ids])
        self._defer(deferred)
        return kept

    def _judge(self, item: Item, record: dict, generation: int, path: str) -> str:
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
        if time.time() - float(record.get("at", 0)) < self.lease_s:
            return "defer"  # claimed moments ago by a flush that has not written its manifest yet
        claim = self.ledger.take_over(item.message.ref, generation, path, self.id, item.asset.external_id,
                                      project=item.message.destination.project, data=item.asset.data)
        if claim.won:
            item.record_generation = claim.generation
            log(logger, logging.WARNING, "took over a stale claim", flush_id=self.id,
                object=item.message.ref.uri, previous_flush=record.get("flush"))
            return "keep"
        return "defer"

    def _manifest_sent(self, path: str) -> bool:
        """Whether the ledger marks manifest `path` sent (cached: a sent manifest stays sent)."""
        if path not in self._sent_manifests and self.ledger.is_sent(path):
            self._sent_manifests.add(path)
        return path in self._sent_manifests

    # -- Pub/Sub -----------------------------------------------------------------------------
    def _pull(self) -> list | None:
        """Up to PULL_MAX messages; [] when the queue stays empty for PULL_WAIT_S; None when Pub/Sub
        fails (what is held is still shipped; the rest waits for the next flush)."""
        try:
            return list(self.subscriber.pull(subscription=self.settings.subscription_path, max_messages=PULL_MAX,
                                             timeout=PULL_WAIT_S, retry=None).received_messages)
        except exceptions.DeadlineExceeded:
            return []
        except (exceptions.ServiceUnavailable, exceptions.InternalServerError, exceptions.Aborted,
                exceptions.Unknown) as exc:
            log(logger, logging.WARNING, f"pulling failed; shipping what is held: {exc}", flush_id=self.id)
            return None

    @cached_property
    def pubsub(self) -> Subscription:
        """Acks, leases and dead letters that log their failures instead of raising them."""
        return Subscription(self.subscriber, self.publisher, self.settings.subscription_path,
                            self.settings.dead_letter_topic_path, self.id)

    def _ack(self, ack_ids: list[str]) -> None:
        self.pubsub.ack(ack_ids)

    def _defer(self, items: list[Item]) -> None:
        self.summary.deferred += len(items)
        self.pubsub.lease([a for item in items for a in item.ack_ids], int(min(DEFER_S, self.lease_s / 2)),
                          "deferring")

    def _extend(self, items: list[Item]) -> None:
        """Keep held messages leased while their manifest is written and sent."""
        self.pubsub.lease([a for item in items for a in item.ack_ids], int(min(MAX_ACK_DEADLINE_S, self.lease_s)),
                          "extending the lease")

    def _dead_letter(self, data: bytes, attributes: dict, reason: str) -> bool:
        """Publish one dead letter; False (logged) when Pub/Sub did not confirm it."""
        return self._dead_letter_many([(data, attributes, reason)])[0]

    def _dead_letter_many(self, rows: list[tuple[bytes, dict, str]]) -> list[bool]:
        confirmed = self.pubsub.dead_letter(rows)
        self.summary.dead_lettered += sum(confirmed)
        return confirmed


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
    from .clients import publisher_client, storage_client, subscriber_client
    from .gcs import JsonStore

    store = JsonStore(storage_client().bucket(settings.state_bucket))
    return Flush(settings, hub_client(settings), store, subscriber_client(), publisher_client()).run()
