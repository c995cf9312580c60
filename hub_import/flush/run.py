"""The flush: drain the queue into manifests and into the Hub, each object exactly once.

One run, within FLUSH_BUDGET_SECONDS:
1. Check that the Hub answers; if it does not, stop before pulling anything (so that an outage
   does not spend the messages' delivery attempts).
2. Finish pending manifests left by earlier runs whose lease ran out: ask the Hub which of
   their assets it already has, send the rest.
3. Pull up to 1000 messages at a time until the queue is empty or the budget is spent.
   Undecodable messages go to the dead-letter topic. Pulled messages are leased for the claim
   timeout at once. Objects are grouped by destination, each claimed in the ledger as it is
   admitted, and shipped whenever a group reaches MAX_ASSETS_PER_MANIFEST or has waited HOLD_S,
   and all groups at the end.
4. Shipping a group (shipping.py): its claims done (duplicates and objects another flush carries
   drop out here), write the manifest, send it, record the outcome, then ack.
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
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

from google.api_core import exceptions

from hub_import.core.decisions import decide
from hub_import.core.logs import log
from hub_import.core.messages import DeletionMessage, MessageError, decode_message
from hub_import.core.routes import Destination
from hub_import.core.settings import Settings
from hub_import.hub import HubClient, HubError
from hub_import.state.batch_budget import BatchBudget
from hub_import.state.lease import Lease
from hub_import.state.ledger import Ledger
from hub_import.state.manifests import ManifestStore

from . import heal, results
from .deleter import Deleting
from .items import Item, claim_timeout_s
from .resumer import Resuming
from .settler import Settling
from .shipper import Shipping
from .subscription import Subscription
from .summary import Summary

logger = logging.getLogger(__name__)

PULL_MAX = 1000
PULL_WAIT_S = 2.0  # an empty queue answers a pull by letting it time out
DEFER_S = 60  # a deferred message comes back after this long (or half the claim timeout, if shorter)
MAX_ACK_DEADLINE_S = 600  # Pub/Sub's maximum
IO_THREADS = 32
# The most of a flush's Hub calls that settling earlier unknown outcomes may take, so that the
# queue keeps draining while a large reconcile goes on over several flushes.
RECONCILE_SHARE = 0.25


class Flush(Resuming, Settling, Deleting, Shipping):
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
        self._claiming: deque = deque()  # claims begun and maybe not done, oldest first (shipping.py)
        self._held: dict[str, Item] = {}  # ledger key -> an item admitted and not yet shipped (_drain)

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
        paths: dict[Destination, str] = {}  # the manifest each open group's objects are claimed for
        full: deque = deque()  # (destination, items, path) of closed groups, sent once their claims are done
        size = self.settings.max_assets_per_manifest

        def close(dest: Destination) -> None:  # the group is a manifest now
            full.append((dest, list(groups.pop(dest).values()), paths.pop(dest)))
        try:
            while not self.summary.hub_unavailable:
                if time.monotonic() >= self.pull_until:
                    self.summary.budget_exhausted = True
                    break
                for dest in [d for d, g in groups.items()
                             if time.time() - next(iter(g.values())).claimed_at >= self._hold_s()]:
                    close(dest)
                self._ship_claimed(full)
                received = self._pull()
                if not received:
                    self.summary.queue_empty = received is not None
                    break
                self.summary.pulled += len(received)
                # Their objects are claimed from now on: a message must not come back (should this flush
                # die) before its claim is stale enough to take over, or it would only be deferred again.
                self._hold_leased([r.ack_id for r in received])
                fresh, deletions = self._admit(received)
                # Deletions first: an import of the same name, in this pull or held from an earlier
                # one (its early claim given back), then meets their ledger record.
                self._delete_objects(self._unclaim(deletions))
                for key, item in fresh:
                    dest = item.message.destination
                    if dest not in paths:
                        paths[dest] = self.manifests.new_path(self.id)
                    self._claim_early(item, paths[dest], dest.project)
                    groups[dest][key] = item
                    if len(groups[dest]) >= size:  # so no group ever holds more than one manifest
                        close(dest)
            while full:
                self._ship(*full.popleft())
            while groups:
                dest, items = groups.popitem()
                self._ship(dest, list(items.values()), paths.pop(dest))
        except BaseException:
            # Whatever failed, the groups not yet shipped give their claims back and come back soon.
            unsent = [i for _, items, _ in full for i in items] + [i for g in groups.values() for i in g.values()]
            self._give_back(unsent)
            self._defer(unsent)
            raise

    def _admit(self, received) -> tuple[list[tuple[str, Item]], list]:
        """Decode, drop what the rules now skip, fold duplicates into the item already held; set
        deletions apart (DeletionMessage, ack id)."""
        held = self._held  # ledger key -> the item admitted for it and not yet shipped
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
        self._hold_leased([a for item in items for a in item.ack_ids])

    def _hold_leased(self, ack_ids: list[str]) -> None:
        """Lease messages for the claim timeout (Pub/Sub's maximum at most)."""
        self.pubsub.lease(ack_ids, int(min(MAX_ACK_DEADLINE_S, self.lease_s)), "extending the lease")

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
    from hub_import.core.clients import publisher_client, storage_client, subscriber_client
    from hub_import.state.store import JsonStore

    store = JsonStore(storage_client().bucket(settings.state_bucket))
    return Flush(settings, hub_client(settings), store, subscriber_client(), publisher_client()).run()
