"""Dead letters: messages the flush could not import, kept with their reason, and the way back.

The flush publishes a dead letter as an envelope. Its body keeps everything:

    {"dead_letter": 1, "reason": full text, "flush": id, "at": t, "attributes": {...},
     "data_b64": the original body, base64, "truncated": bool}

Its attributes are the original's (bucket, name, generation: enough to find it without
decoding) plus `reason` and `flush`, all cut to Pub/Sub's limits, which count bytes, not
characters (a value at most 1,024 bytes, a key 256, 100 attributes). Pub/Sub's own
dead-lettering (after the subscription's max_delivery_attempts) forwards the original message
as it was; `unwrap` reads both forms.

`bring_back` is `replay --dead-letters`: each dead letter that can go through now is published
to the main topic again (with today's route) and then acked here; the ledger makes sure that
nothing goes into the Hub twice, however often a message comes back. The others stay, each
with the reason it cannot go yet, for `status` and for a later try.
"""
from __future__ import annotations

import base64
import binascii
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping

from google.api_core import exceptions

MAX_VALUE_BYTES, MAX_KEY_BYTES, MAX_ATTRIBUTES = 1024, 256, 100
MAX_KEPT_BYTES = 1_000_000  # an object message is a few KB; a bigger body is garbage, kept in part
DELIVERY_COUNT = "CloudPubSubDeadLetterSourceDeliveryCount"


def cut_utf8(text: str, limit: int) -> str:
    """`text` in at most `limit` bytes of UTF-8, cut on a character boundary (with "…" when cut)."""
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return raw.decode("utf-8")
    return raw[:limit - 3].decode("utf-8", "ignore") + "…"


def envelope(data: bytes, attributes: Mapping[str, str], reason: str, flush_id: str) -> tuple[bytes, dict[str, str]]:
    """The dead letter for a message (`data`, `attributes`) that failed for `reason`."""
    kept = data[:MAX_KEPT_BYTES]
    body = {"dead_letter": 1, "reason": reason, "flush": flush_id, "at": time.time(),
            "attributes": dict(attributes), "data_b64": base64.b64encode(kept).decode(),
            "truncated": len(kept) < len(data)}
    short: dict[str, str] = {}
    for key, value in attributes.items():
        if len(short) >= MAX_ATTRIBUTES - 2:
            break
        if key not in ("reason", "flush") and len(key.encode("utf-8", "replace")) <= MAX_KEY_BYTES:
            short[key] = cut_utf8(str(value), MAX_VALUE_BYTES)
    short["reason"] = cut_utf8(reason, MAX_VALUE_BYTES)
    short["flush"] = cut_utf8(flush_id, MAX_VALUE_BYTES)
    return json.dumps(body, ensure_ascii=True).encode(), short


@dataclass
class DeadLetter:
    """One message on the dead-letter subscription, unwrapped: the original and why it is here."""

    ack_id: str
    message_id: str
    data: bytes
    attributes: dict
    reason: str
    truncated: bool = False

    @property
    def object(self) -> str:
        a = self.attributes
        return f"gs://{a['bucket']}/{a['name']}" if a.get("bucket") and a.get("name") else "(unknown object)"


def unwrap(received) -> DeadLetter:
    """A received dead-letter message as a DeadLetter, whichever form it has."""
    m = received.message
    try:
        body = json.loads(m.data)
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict) and body.get("dead_letter") == 1 and isinstance(body.get("data_b64"), str):
        try:
            data = base64.b64decode(body["data_b64"], validate=True)
        except (binascii.Error, ValueError):
            data = b""
        attributes = body.get("attributes") if isinstance(body.get("attributes"), dict) else {}
        return DeadLetter(received.ack_id, m.message_id, data, {str(k): str(v) for k, v in attributes.items()},
                          str(body.get("reason") or m.attributes.get("reason") or "?"), bool(body.get("truncated")))
    attributes = {k: v for k, v in m.attributes.items() if k not in ("reason", "flush") and k != DELIVERY_COUNT}
    reason = m.attributes.get("reason") or (
        f"not acknowledged in {m.attributes.get(DELIVERY_COUNT, 'the maximum number of')} deliveries "
        f"(the subscription's dead-letter policy)")
    return DeadLetter(received.ack_id, m.message_id, bytes(m.data), attributes, reason)


def subscription_path(settings) -> str:
    """The subscription on the dead-letter topic that people (status, replay) read: Terraform's
    `<dead-letter topic>-inspect`."""
    return settings.dead_letter_topic_path.replace("/topics/", "/subscriptions/") + "-inspect"


def pull(subscriber, subscription: str, limit: int = 1000, wait_s: float = 5.0) -> list:
    """Up to `limit` received messages ([] when none comes within `wait_s`)."""
    try:
        answer = subscriber.pull(subscription=subscription, max_messages=limit, timeout=wait_s, retry=None)
    except exceptions.DeadlineExceeded:
        return []
    return list(answer.received_messages)


def release(subscriber, subscription: str, ack_ids: list[str]) -> None:
    """Hand messages straight back (a zero lease), for the next reader."""
    for start in range(0, len(ack_ids), 2500):
        subscriber.modify_ack_deadline(subscription=subscription, ack_ids=ack_ids[start:start + 2500],
                                       ack_deadline_seconds=0)


@dataclass
class BringBackReport:
    republished: int = 0
    already_in_hub: int = 0
    kept: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)
    dry_run: bool = False

    def to_json(self) -> dict:
        return {"republished": self.republished, "already_in_hub": self.already_in_hub,
                "kept": [{"reason": r, "count": n, "example": self.examples.get(r)} for r, n in self.kept.most_common()],
                "dry_run": self.dry_run}


def verdict(flush, letter: DeadLetter, batch_checks: dict) -> tuple[str, str, object]:
    """("republish", "", message with today's route) | ("drop", why, None) | ("keep", why, None)."""
    from .batch_budget import TemplateCapError
    from .flush_parts import batch_guard
    from .gcs import ConflictError
    from .hub import HubError, HubNotFoundError
    from .ledger import FAILED, SENT
    from .queue import DeletionMessage, MessageError, ObjectMessage, decode_message
    from .routes import decide

    if letter.truncated:
        return "keep", "too large to be an object message", None
    try:
        message = decode_message(letter.data)
    except MessageError as exc:
        return "keep", f"cannot be decoded: {exc}", None
    if isinstance(message, DeletionMessage):
        return "republish", "", message  # the flush judges it again: the ledger makes it safe
    decision = decide(message.ref, flush.settings)
    if decision.destination is None:
        return "keep", f"today's rules skip it: {decision.reason}", None
    record = flush.ledger.read(message.ref)
    if record is not None:
        state, manifest = record.body.get("state"), record.body.get("manifest", "")
        if state == SENT or flush.ledger.is_sent(manifest):
            return "drop", "already in the Hub", None
        if state == FAILED:
            return "keep", (f"{letter.reason} [in failed manifest {manifest}: fix the cause, then "
                            f"`replay --failed` sends it again]"), None
    dest = decision.destination
    if dest not in batch_checks:
        try:
            flush.hub.batch_ids(dest.project, dest.batches, create=flush.settings.create_batches,
                                deadline=time.monotonic() + 60, before_create=batch_guard(flush.batch_budget, dest))
            batch_checks[dest] = ""
        except (HubNotFoundError, TemplateCapError) as exc:
            batch_checks[dest] = f"still failing: {exc}"
        except (HubError, ConflictError) as exc:
            batch_checks[dest] = f"the Hub did not answer, try again later: {exc}"
    if batch_checks[dest]:
        return "keep", batch_checks[dest], None
    return "republish", "", ObjectMessage(message.ref, dest, message.size, message.event_id, message.source)


def bring_back(flush, subscriber, publisher, dry_run: bool = False) -> BringBackReport:
    """`replay --dead-letters`: republish what can go through now, ack it here; keep the rest."""
    from .queue import wait

    subscription = subscription_path(flush.settings)
    report = BringBackReport(dry_run=dry_run)
    seen: set[str] = set()
    held: list[str] = []  # ack ids of dead letters that stay (handed back at the end)
    batch_checks: dict = {}
    try:
        while True:
            pulled = pull(subscriber, subscription)
            received = [r for r in pulled if r.message.message_id not in seen]
            held += [r.ack_id for r in pulled if r.message.message_id in seen]  # a kept one, back again
            if not received:
                break
            done, futures = [], []
            for r in received:
                seen.add(r.message.message_id)
                letter = unwrap(r)
                action, why, message = verdict(flush, letter, batch_checks)
                if action == "keep":
                    report.kept[why] += 1
                    report.examples.setdefault(why, letter.object)
                    held.append(r.ack_id)
                elif action == "drop":
                    report.already_in_hub += 1
                    (held if dry_run else done).append(r.ack_id)
                elif dry_run:
                    report.republished += 1
                    held.append(r.ack_id)
                else:
                    data, attributes = message.encode()
                    futures.append((r.ack_id, publisher.publish(flush.settings.topic_path, data, **attributes)))
            try:
                for ack_id, future in futures:
                    wait(future)  # PublishError ends the run; only what Pub/Sub confirmed is acked here
                    report.republished += 1
                    done.append(ack_id)
            finally:
                for start in range(0, len(done), 2500):
                    subscriber.acknowledge(subscription=subscription, ack_ids=done[start:start + 2500])
    finally:
        release(subscriber, subscription, held)
    return report
