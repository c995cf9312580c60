"""The flush's side of Pub/Sub: the pull, and acks, leases and dead letters that never raise.

A flush holds many messages at once. If acknowledging one batch, extending a lease or
publishing one dead letter fails, that must not end the flush and strand the rest: every such
failure is logged and the message is left to come back, which is always safe. A message whose
ack was lost is redelivered and acked then as a duplicate (the ledger knows its object); one
whose lease was not extended comes back early and is deferred (its object's claim is held);
one whose dead letter was not confirmed is not acked, so it is dead-lettered on its next turn.
"""
from __future__ import annotations

import logging

from google.api_core import exceptions

from hub_import.core import clock
from hub_import.core.logs import log

from . import dead_letters as deadletters

logger = logging.getLogger(__name__)

CHUNK = 2500  # ack ids per request (Pub/Sub's limit is 512 KB of them)
PUBLISH_TIMEOUT_S = 30
PULL_MAX = 1000
PULL_WAIT_S = 2.0  # an empty queue answers a pull by letting it time out
# A deferred message comes back after this long (or half the claim timeout, if shorter), plus
# Pub/Sub's retry backoff, which grows at each delivery of the same message (Terraform: 10 s up to 600 s).
DEFER_S = 60
MAX_ACK_DEADLINE_S = 600  # Pub/Sub's maximum


class Subscription:
    """The subscription as one flush (`turn`) sees it. What it defers and dead-letters is counted
    in the turn's summary. Items (flush.items.Item, flush.soft_delete.Gone) carry `ack_ids`."""

    def __init__(self, subscriber, publisher, turn):
        self.subscriber, self.publisher, self.turn = subscriber, publisher, turn
        self.path, self.dead_letter_topic = turn.settings.subscription_path, turn.settings.dead_letter_topic_path
        self.flush_id = turn.id
        self.published: dict[str, float] = {}  # ack id -> publish time (epoch seconds), for the health record


    def pull(self) -> list | None:
        """Up to PULL_MAX messages; [] when the queue stays empty for PULL_WAIT_S; None when Pub/Sub
        fails (what is held is still shipped; the rest waits for the next flush)."""
        try:
            received = list(self.subscriber.pull(subscription=self.path, max_messages=PULL_MAX, timeout=PULL_WAIT_S,
                                                 retry=None).received_messages)
        except exceptions.DeadlineExceeded:
            return []
        except (exceptions.ServiceUnavailable, exceptions.InternalServerError, exceptions.Aborted,
                exceptions.Unknown) as exc:
            log(logger, logging.WARNING, f"pulling failed; shipping what is held: {exc}", flush_id=self.flush_id)
            return None
        for r in received:
            at = clock.epoch(clock.iso(getattr(r.message, "publish_time", None)))
            if at:  # (a message without one reads as the epoch)
                self.published[r.ack_id] = at
        return received

    def defer(self, items: list) -> None:
        """Hand `items` back for a later flush: their messages come back after DEFER_S (or half the
        claim timeout, if shorter), and the subscription's retry backoff: a message deferred again
        and again comes back later each time, up to its maximum (600 s as Terraform sets it)."""
        self.turn.summary.deferred += len(items)
        self._note_oldest([a for item in items for a in item.ack_ids])
        self.lease([a for item in items for a in item.ack_ids], int(min(DEFER_S, self.turn.lease_s / 2)),
                   "deferring")

    def _note_oldest(self, ack_ids: list[str]) -> None:
        """Keep, in the summary, the publish time of the oldest message handed back so far."""
        times = [self.published[a] for a in ack_ids if a in self.published]
        summary = self.turn.summary
        if times:
            oldest = min(times + [t for t in [clock.epoch(summary.oldest_deferred_published)] if t is not None])
            summary.oldest_deferred_published = clock.iso(oldest)

    def extend(self, items: list) -> None:
        """Keep held messages leased while their manifest is written and sent."""
        self.hold([a for item in items for a in item.ack_ids])

    def hold(self, ack_ids: list[str]) -> None:
        """Lease messages for the claim timeout (Pub/Sub's maximum at most)."""
        self.lease(ack_ids, int(min(MAX_ACK_DEADLINE_S, self.turn.lease_s)), "extending the lease")

    def ack(self, ack_ids: list[str]) -> int:
        """Acknowledge `ack_ids`; returns how many could not be (logged; they come back)."""
        failed = 0
        for start in range(0, len(ack_ids), CHUNK):
            chunk = ack_ids[start:start + CHUNK]
            try:
                self.subscriber.acknowledge(subscription=self.path, ack_ids=chunk)
            except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
                failed += len(chunk)
                log(logger, logging.WARNING, f"acknowledging failed; the messages come back: {exc}",
                    flush_id=self.flush_id, messages=len(chunk))
        return failed

    def lease(self, ack_ids: list[str], seconds: int, what: str) -> None:
        """Set the messages' lease to `seconds`; a failure is logged (they keep their old lease)."""
        for start in range(0, len(ack_ids), CHUNK):
            chunk = ack_ids[start:start + CHUNK]
            try:
                self.subscriber.modify_ack_deadline(subscription=self.path, ack_ids=chunk,
                                                    ack_deadline_seconds=seconds)
            except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
                log(logger, logging.WARNING, f"{what} failed; the messages keep their old lease: {exc}",
                    flush_id=self.flush_id, messages=len(chunk))

    def dead_letter_one(self, data: bytes, attributes: dict, reason: str) -> bool:
        """Publish one dead letter; False (logged) when Pub/Sub did not confirm it."""
        return self.dead_letter([(data, attributes, reason)])[0]

    def dead_letter(self, rows: list[tuple[bytes, dict, str]]) -> list[bool]:
        """Publish a dead letter for each (data, attributes, reason), all at once (see
        dead_letters.py for its form); for each, whether Pub/Sub confirmed it (counted)."""
        futures = []
        for data, attributes, reason in rows:
            body, short = deadletters.envelope(data, attributes, reason, self.flush_id)
            try:
                futures.append(self.publisher.publish(self.dead_letter_topic, body, **short))
            except Exception as exc:  # noqa: BLE001 - the client's errors vary; none may end a flush
                futures.append(exc)
        confirmed = []
        deadline = clock.monotonic() + PUBLISH_TIMEOUT_S  # one wait for them all: they were published at once
        for (data, attributes, reason), future in zip(rows, futures):
            where = f"gs://{attributes.get('bucket', '?')}/{attributes.get('name', '?')}"
            try:
                if isinstance(future, Exception):
                    raise future
                future.result(timeout=max(0.0, deadline - clock.monotonic()))
            except Exception as exc:  # noqa: BLE001 - as above
                log(logger, logging.ERROR, f"dead-lettering failed; the message comes back: {type(exc).__name__}: "
                    f"{exc}", flush_id=self.flush_id, object=where, reason=reason)
                confirmed.append(False)
                continue
            log(logger, logging.ERROR, f"dead-lettered: {reason}", flush_id=self.flush_id, object=where)
            confirmed.append(True)
        self.turn.summary.dead_lettered += sum(confirmed)
        return confirmed
