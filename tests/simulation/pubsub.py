"""An in-memory Pub/Sub: topics that keep every message published (the judge reads them), pull
subscriptions with ack deadlines, redelivery once a deadline passes, a dead-letter policy
(forwarded after `max_attempts` deliveries), and no ordering.

Faults (the step's plan): `pubsub.publish` - the publish future fails, the message kept or not
(by a coin: an answer lost after Pub/Sub took it is a real case); `pubsub.ack` - an ack
answered OK and not applied (acks are best effort), or refused with 503; `pubsub.modack` - a
lease change refused; `pubsub.pull` - a pull fails with 503."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace

from google.api_core import exceptions

from .clock import Io

DEFAULT_ACK_DEADLINE_S = 60


class Future:
    def __init__(self, value=None, error: Exception | None = None):
        self._value, self._error = value, error

    def result(self, timeout=None):
        if self._error is not None:
            raise self._error
        return self._value

    def done(self) -> bool:
        return True

    def add_done_callback(self, fn) -> None:
        fn(self)

    def exception(self, timeout=None):
        return self._error


@dataclass
class Message:
    id: str
    data: bytes
    attributes: dict
    published: float


@dataclass
class _Held:
    message: Message
    attempts: int = 0
    due: float = 0.0  # monotonic: deliverable from then on
    ack_id: str = ""


@dataclass
class Subscription:
    path: str
    dead_letter_topic: str | None
    max_attempts: int
    held: dict = field(default_factory=dict)  # message id -> _Held


class FakePubSub:
    """Both clients at once: the publisher's `publish` and the subscriber's `pull`,
    `acknowledge`, `modify_ack_deadline`."""

    def __init__(self, io: Io):
        self.io = io
        self.topics: dict[str, list[Message]] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self._subs_of: dict[str, list[str]] = {}
        self._n = 0

    def subscribe(self, topic: str, path: str, dead_letter_topic: str | None = None, max_attempts: int = 5) -> None:
        self.topics.setdefault(topic, [])
        self.subscriptions[path] = Subscription(path, dead_letter_topic, max_attempts)
        self._subs_of.setdefault(topic, []).append(path)

    # -- publisher ------------------------------------------------------------------------
    def publish(self, topic: str, data: bytes, **attributes) -> Future:
        fault = self.io.call("pubsub.publish")
        if fault and self.io.rng.random() < 0.5:
            return Future(error=exceptions.ServiceUnavailable("simulated: publish failed (not kept)"))
        message_id = self.put(topic, bytes(data), {k: str(v) for k, v in attributes.items()})
        if fault:
            return Future(error=exceptions.DeadlineExceeded("simulated: publish answer lost (kept)"))
        return Future(message_id)

    def put(self, topic: str, data: bytes, attributes: dict) -> str:
        self._n += 1
        message = Message(str(self._n), data, attributes, self.io.clock.time())
        self.topics.setdefault(topic, []).append(message)
        for path in self._subs_of.get(topic, []):
            self.subscriptions[path].held[message.id] = _Held(message, due=self.io.clock.monotonic())
        return message.id

    # -- subscriber -----------------------------------------------------------------------
    def pull(self, subscription: str, max_messages: int = 1000, timeout=None, retry=None, **_):
        if self.io.call("pubsub.pull"):
            raise exceptions.ServiceUnavailable("simulated: pull failed")
        sub = self._sub(subscription)
        now = self.io.clock.monotonic()
        ready = [h for h in sub.held.values() if h.due <= now]
        self.io.rng.shuffle(ready)
        out = []
        for h in ready:
            if len(out) >= max_messages:
                break
            if sub.dead_letter_topic and h.attempts >= sub.max_attempts:
                del sub.held[h.message.id]
                self.put(sub.dead_letter_topic, h.message.data,
                         dict(h.message.attributes, CloudPubSubDeadLetterSourceSubscription=sub.path))
                continue
            h.attempts += 1
            h.ack_id = f"{h.message.id}.{h.attempts}"
            h.due = now + DEFAULT_ACK_DEADLINE_S
            out.append(SimpleNamespace(ack_id=h.ack_id, delivery_attempt=h.attempts, message=SimpleNamespace(
                data=h.message.data, attributes=dict(h.message.attributes), message_id=h.message.id,
                publish_time=datetime.fromtimestamp(h.message.published, timezone.utc))))
        if not out and timeout:
            self.io.clock.sleep(min(float(timeout), 2.0))
        return SimpleNamespace(received_messages=out)

    def acknowledge(self, subscription: str, ack_ids, **_) -> None:
        if self.io.call("pubsub.ack"):
            if self.io.rng.random() < 0.5:
                raise exceptions.ServiceUnavailable("simulated: ack failed")
            return  # answered OK, not applied
        sub = self._sub(subscription)
        for ack_id in ack_ids:
            h = sub.held.get(ack_id.split(".")[0])
            if h is not None and h.ack_id == ack_id:
                del sub.held[h.message.id]

    def modify_ack_deadline(self, subscription: str, ack_ids, ack_deadline_seconds: int, **_) -> None:
        if self.io.call("pubsub.modack"):
            raise exceptions.ServiceUnavailable("simulated: modifyAckDeadline failed")
        sub = self._sub(subscription)
        now = self.io.clock.monotonic()
        for ack_id in ack_ids:
            h = sub.held.get(ack_id.split(".")[0])
            if h is not None and h.ack_id == ack_id and h.due > now:  # an expired lease cannot be extended
                h.due = now + ack_deadline_seconds

    def _sub(self, path: str) -> Subscription:
        sub = self.subscriptions.get(path)
        if sub is None:
            raise exceptions.NotFound(f"simulated: no subscription {path}")
        return sub

    # -- the judge's view -----------------------------------------------------------------
    def backlog(self, path: str) -> int:
        return len(self.subscriptions[path].held)
