"""The flush: drain the queue into manifests and into the Hub, each object exactly once.

One run, within FLUSH_BUDGET_SECONDS:
1. Check that the Hub answers; if it does not, stop before pulling anything (so that an outage
   does not spend the messages' delivery attempts).
2. Finish pending manifests left by earlier runs whose lease ran out: ask the Hub which of
   their assets it already has, send the rest.
3. Pull up to 1000 messages at a time until the queue is empty or the budget is spent.
   Undecodable messages go to the dead-letter topic. Objects are grouped by destination and
   shipped whenever a group reaches MAX_ASSETS_PER_MANIFEST or has waited HOLD_S, and all
   groups at the end.
4. Shipping a group: claim each object in the ledger (duplicates and objects another flush
   carries drop out here), write the manifest, send it, record the outcome, then ack. The claims
   begin as each object is admitted, for the manifest its group will become, so that the ledger
   writes go on while the flush pulls and sends; a group that is not sent gives its claims back.
   A 400 is split down to the bad assets: the good ones go in, the bad ones end in a failed
   manifest and on the dead-letter topic. What the Hub did not take, or may have taken
   (an unknown outcome), stays in a pending manifest that later flushes finish.
Nothing is acked before the Hub has accepted its object, it has been dead-lettered, or a
pending manifest in the state bucket carries it (resumed by every flush until it settles, so
the message need not come back every minute and spend its delivery attempts).
"""
from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor, wait
from functools import cached_property

from google.api_core import exceptions

from .assets import build_asset, external_id
from .config import Settings
from . import heal
from .flush_parts import Item, Summary, _crash_point, claim_timeout_s
from .hub import HubClient, HubError, HubNotFoundError
from .lease import Lease
from .ledger import FAILED, SENT, Ledger
from .logs import log
from .manifests import ManifestStore
from .manifests import FAILED as MANIFEST_FAILED
from .manifests import SENT as MANIFEST_SENT
from .queue import MessageError, ObjectMessage
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
# The longest a group waits for more objects before it is sent anyway: while files trickle in,
# a flush that keeps pulling must not hold the first of them until its budget ends (at most
# two Hub calls a minute per destination; a group that fills sooner is sent when full).
HOLD_S = 30
# The most of a flush's Hub calls that settling earlier unknown outcomes may take, so that the
# queue keeps draining while a large reconcile goes on over several flushes.
RECONCILE_SHARE = 0.25


class Flush(Resuming, Settling):
    """One flush (see the module docstring); `run()` does it and returns its Summary."""

    def __init__(self, settings: Settings, hub: HubClient, state_store, subscriber, publisher,
                 flush_id: str | None = None):
        self.settings, self.hub = settings, hub
        self.subscriber, self.publisher = subscriber, publisher
        self.manifests = ManifestStore(state_store, settings.manifest_prefix)
        self.ledger = Ledger(state_store, settings.ledger_prefix, settings.each_generation)
        self.id = flush_id or time.strftime("%H%M%S") + secrets.token_hex(3)
        self.summary = Summary(self.id)
        self.pool = ThreadPoolExecutor(IO_THREADS)
        self.lease_s = claim_timeout_s(settings)
        self.lease = Lease(state_store, f"{settings.ledger_prefix}leases/flush.json", self.id)
        rpm = settings.requests_per_minute
        self.reconcile_budget = max(5, int(RECONCILE_SHARE * settings.flush_budget_s * rpm / 60)) if rpm else 1000
        self._sent_manifests: set[str] = set()
        self._claiming: deque = deque()  # claims begun and maybe not done, oldest first

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
        held: dict[str, Item] = {}  # ledger key -> the item buffered for it, not yet shipped
        full: deque = deque()  # (destination, items, path) of full groups whose claims may still run
        size = self.settings.max_assets_per_manifest

        def close(dest: Destination) -> None:  # the group is a manifest now, sent once its claims are done
            shipped = groups.pop(dest)
            for k in shipped:
                held.pop(k, None)
            full.append((dest, list(shipped.values()), paths.pop(dest)))
        while not self.summary.hub_unavailable:
            if time.monotonic() >= self.pull_until:
                self.summary.budget_exhausted = True
                break
            for dest in [d for d, g in groups.items() if time.time() - next(iter(g.values())).claimed_at >= HOLD_S]:
                close(dest)
            self._ship_claimed(full)
            received = self._pull()
            if not received:
                self.summary.queue_empty = received is not None
                break
            self.summary.pulled += len(received)
            # Their objects are claimed from now on: a message must not come back (should this flush
            # die) before its claim is stale enough to take over, or it would only be deferred again.
            self.pubsub.lease([r.ack_id for r in received], int(min(MAX_ACK_DEADLINE_S, self.lease_s)),
                              "extending the lease")
            for key, item in self._admit(received, held):
                dest = item.message.destination
                if dest not in paths:
                    paths[dest] = self.manifests.new_path(self.id)
                self._claim_early(item, paths[dest])
                groups[dest][key] = item
                if len(groups[dest]) >= size:  # so no group ever holds more than one manifest
                    close(dest)
        while full:
            self._ship(*full.popleft())
        for dest, items in groups.items():
            self._ship(dest, list(items.values()), paths[dest])

    def _claim_early(self, item: Item, path: str) -> None:
        """Begin claiming the item's object for manifest `path`, in the background."""
        ref = item.message.ref
        item.claim = self.pool.submit(self.ledger.claim, ref, path, self.id,
                                      external_id(ref, self.settings.external_id_template))
        item.claimed_at = time.time()
        self._claiming.append(item.claim)

    def _ship_claimed(self, full: deque) -> None:
        """Ship the full groups whose claims are done, and (oldest first) as many more as it takes to
        pull no further ahead of the ledger than PULL_MAX unclaimed objects (memory stays flat)."""
        while self._claiming and self._claiming[0].done():
            self._claiming.popleft()
        while full and (len(self._claiming) > PULL_MAX or all(i.claim.done() for i in full[0][1])):
            self._ship(*full.popleft())
            while self._claiming and self._claiming[0].done():
                self._claiming.popleft()
        while len(self._claiming) > PULL_MAX:  # the claims of groups still filling
            wait([self._claiming.popleft()])

    def _admit(self, received, held: dict[str, Item]) -> list[tuple[str, Item]]:
        """Decode, drop what the rules now skip, fold duplicates into the item already held."""
        fresh: list[tuple[str, Item]] = []
        done_ack_ids: list[str] = []
        poison = []
        for r in received:
            try:
                message = ObjectMessage.decode(r.message.data)
            except MessageError as exc:
                poison.append((r, str(exc)))
                continue
            if decide(message.ref, self.settings).destination is None:
                self.summary.skipped_by_rule += 1
                done_ack_ids.append(r.ack_id)
                continue
            key = self.ledger.key(message.ref)
            if key in held:
                held[key].ack_ids.append(r.ack_id)
                self.summary.duplicates += 1
                continue
            held[key] = Item(message, [r.ack_id])
            fresh.append((key, held[key]))
        # A poison message is acked only once its dead letter is confirmed; otherwise it comes back.
        confirmed = self._dead_letter_many([(r.message.data, dict(r.message.attributes), why) for r, why in poison])
        done_ack_ids += [r.ack_id for (r, _), ok in zip(poison, confirmed) if ok]
        self._ack(done_ack_ids)
        return fresh

    # -- shipping one group --------------------------------------------------------------------
    def _ship(self, dest: Destination, items: list[Item], path: str | None = None) -> None:
        """Send `items` as manifest `path` (the one their early claims name; a new one if None)."""
        if time.monotonic() >= self.deadline or self.summary.hub_unavailable:
            self._give_back(items)
            self._defer(items)  # out of time, or the Hub refuses us: a later flush takes them
            return
        try:
            batch_ids = self.hub.batch_ids(dest.project, dest.batches, create=self.settings.create_batches,
                                           deadline=self.deadline)
        except HubNotFoundError as exc:
            self._give_back(items)
            self._fail_destination(dest, items, str(exc))
            return
        except HubError as exc:
            log(logger, logging.ERROR, f"cannot resolve batches for {dest.project}: {exc}", flush_id=self.id,
                project=dest.project, batches=list(dest.batches))
            self._give_back(items)
            self._defer(items)
            return
        for item in items:
            m = item.message
            item.asset = build_asset(m.ref, storage=dest.storage, batches=batch_ids, size=m.size,
                                     url_template=self.settings.url_template,
                                     external_id_template=self.settings.external_id_template)
        path = path or self.manifests.new_path(self.id)
        kept = self._claim_all(items, path)
        if not kept:
            return
        claimed_at = min(i.claimed_at for i in kept)
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
        off, a project that does not exist): its objects go into a failed manifest (shown by
        `status`) and onto the dead-letter topic with `reason`, instead of coming back unseen until
        Pub/Sub gives up on them. `replay --failed` or `replay --dead-letters` brings them back once
        it is fixed. No ledger record is written: nothing of them went anywhere."""
        assets = [build_asset(i.message.ref, storage=dest.storage, size=i.message.size,
                              url_template=self.settings.url_template,
                              external_id_template=self.settings.external_id_template) for i in items]
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
        """Claim each object for manifest `path` (those not claimed early now); returns the items
        this flush now carries."""
        for item in items:
            if item.claim is None:
                self._claim_early(item, path)
        outcomes = [(i, i.claim.result()) for i in items]
        kept, duplicates, deferred, carried = [], [], [], []
        for item, claim in outcomes:
            if claim.won:
                item.record_generation = claim.generation
                kept.append(item)
                continue
            record = claim.existing.body if claim.existing else {}
            verdict = self._judge(item, record, claim.generation, path)
            {"keep": kept, "duplicate": duplicates, "defer": deferred, "carried": carried}[verdict].append(item)
        self.summary.duplicates += sum(len(i.ack_ids) for i in duplicates)
        self._ack([a for i in duplicates + carried for a in i.ack_ids])
        self._defer(deferred)
        return kept

    def _judge(self, item: Item, record: dict, generation: int, path: str) -> str:
        """An object whose ledger record exists: a duplicate, someone else's, or ours to take over."""
        state, manifest = record.get("state"), record.get("manifest", "")
        if state in (SENT, FAILED) or self._manifest_sent(manifest):
            return "duplicate"
        manifest_state = self.manifests.state_of(manifest) if manifest else None
        if manifest_state is not None:
            if manifest_state.get("state") in (MANIFEST_SENT, MANIFEST_FAILED):
                return "duplicate"
            return "carried"  # a pending manifest carries it; a flush or a resume finishes it
        if time.time() - float(record.get("at", 0)) < self.lease_s:
            return "defer"  # claimed moments ago by a flush that has not written its manifest yet
        claim = self.ledger.take_over(item.message.ref, generation, path, self.id, item.asset.external_id)
        if claim.won:
            item.record_generation, item.claimed_at = claim.generation, time.time()
            log(logger, logging.WARNING, "took over a stale claim", flush_id=self.id,
                object=item.message.ref.uri, previous_flush=record.get("flush"))
            return "keep"
        return "defer"

    def _give_back(self, items: list[Item]) -> None:
        """Release the claims these items won: they go back to the queue unsent, and must not wait
        for a claim timeout to be taken again."""
        won = []
        for item in items:
            try:
                claim = item.claim.result() if item.claim is not None else None
            except Exception:  # noqa: BLE001 - a claim that failed holds nothing we know of; none may end a flush
                continue
            if claim is not None and claim.won:
                won.append((item.message.ref, claim.generation))
        list(self.pool.map(lambda w: self.ledger.release(*w), won))

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
