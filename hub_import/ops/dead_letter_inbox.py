"""The dead-letter subscription people read (`status`, `trace`, `replay --dead-letters`): pulling
from it, handing messages back, and bringing back what can go through now.

`bring_back` is `replay --dead-letters`: each dead letter that can go through now is published
to the main topic again (with today's route) and then acked here; the ledger makes sure that
nothing goes into the Hub twice, however often a message comes back. The others stay, each
with the reason it cannot go yet, for `status` and for a later try.

`ack_in_hub` is `replay --failed`'s: once it has brought a failed manifest's files into the Hub,
their dead letters are stale; those the ledger shows in the Hub are acked, so that `status` no
longer shows them.
"""
from __future__ import annotations

from hub_import.core import clock
from collections import Counter
from dataclasses import dataclass, field

from google.api_core import exceptions

from hub_import.flush.dead_letters import DeadLetter, unwrap


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
    from hub_import.core.admission import foreign_bucket
    from hub_import.core.decisions import decide
    from hub_import.core.messages import DeletionMessage, MessageError, ObjectMessage, decode_message
    from hub_import.hub import HubError, HubNotFoundError
    from hub_import.state.batch_budget import TemplateCapError
    from hub_import.state.ledger import FAILED, SENT
    from hub_import.state.store import ConflictError

    if letter.truncated:
        return "keep", "too large to be an object message", None
    try:
        message = decode_message(letter.data)
    except MessageError as exc:
        return "keep", f"cannot be decoded: {exc}", None
    foreign = foreign_bucket(message.ref.bucket, flush.settings)
    if foreign:  # the flush refuses it whatever the route (core/admission.py): nothing to resolve or republish
        return "keep", f"refused: {foreign}", None
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
            flush.batches.ids(dest, deadline=clock.monotonic() + 60)
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
    from hub_import.core.messages import wait

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


def in_hub(flush, letter: DeadLetter) -> bool:
    """Whether the ledger says the object of this dead letter (that very generation, or its name,
    as the ledger keys it) is in the Hub."""
    from hub_import.core.messages import MessageError, ObjectMessage, decode_message
    from hub_import.state.ledger import SENT

    if letter.truncated:
        return False
    try:
        message = decode_message(letter.data)
    except MessageError:
        return False
    if not isinstance(message, ObjectMessage):
        return False
    record = flush.ledger.read(message.ref)
    if record is None:
        return False
    return record.body.get("state") == SENT or flush.ledger.is_sent(str(record.body.get("manifest") or ""))


def ack_in_hub(flush, subscriber, objects: set[str]) -> int:
    """Ack the dead letters of `objects` (gs:// URIs) that the ledger shows in the Hub; hand every
    other one straight back. Returns how many were acked."""
    subscription = subscription_path(flush.settings)
    seen: set[str] = set()
    held: list[str] = []
    acked = 0
    try:
        while True:
            pulled = pull(subscriber, subscription)
            received = [r for r in pulled if r.message.message_id not in seen]
            held += [r.ack_id for r in pulled if r.message.message_id in seen]
            if not received:
                break
            done = []
            for r in received:
                seen.add(r.message.message_id)
                letter = unwrap(r)
                (done if letter.object in objects and in_hub(flush, letter) else held).append(r.ack_id)
            for start in range(0, len(done), 2500):
                subscriber.acknowledge(subscription=subscription, ack_ids=done[start:start + 2500])
            acked += len(done)
    finally:
        release(subscriber, subscription, held)
    return acked
