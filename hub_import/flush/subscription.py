"""The flush's side of Pub/Sub after the pull: acks, leases and dead letters that never raise.

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

from hub_import.core.logs import log

from . import dead_letters as deadletters

logger = logging.getLogger(__name__)

CHUNK = 2500  # ack ids per request (Pub/Sub's limit is 512 KB of them)
PUBLISH_TIMEOUT_S = 30


class Subscription:
    def __init__(self, subscriber, publisher, subscription_path: str, dead_letter_topic_path: str, flush_id: str):
        self.subscriber, self.publisher = subscriber, publisher
        self.path, self.dead_letter_topic, self.flush_id = subscription_path, dead_letter_topic_path, flush_id

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

    def dead_letter(self, rows: list[tuple[bytes, dict, str]]) -> list[bool]:
        """Publish a dead letter for each (data, attributes, reason), all at once (see
        deadletters.py for its form); for each, whether Pub/Sub confirmed it."""
        futures = []
        for data, attributes, reason in rows:
            body, short = deadletters.envelope(data, attributes, reason, self.flush_id)
            try:
                futures.append(self.publisher.publish(self.dead_letter_topic, body, **short))
            except Exception as exc:  # noqa: BLE001 - the client's errors vary; none may end a flush
                futures.append(exc)
        confirmed = []
        for (data, attributes, reason), future in zip(rows, futures):
            where = f"gs://{attributes.get('bucket', '?')}/{attributes.get('name', '?')}"
            try:
                if isinstance(future, Exception):
                    raise future
                future.result(timeout=PUBLISH_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - as above
                log(logger, logging.ERROR, f"dead-lettering failed; the message comes back: {type(exc).__name__}: "
                    f"{exc}", flush_id=self.flush_id, object=where, reason=reason)
                confirmed.append(False)
                continue
            log(logger, logging.ERROR, f"dead-lettered: {reason}", flush_id=self.flush_id, object=where)
            confirmed.append(True)
        return confirmed
