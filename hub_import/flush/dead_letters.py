"""Dead letters: messages the flush could not import, kept with their reason (their form).

The flush publishes a dead letter as an envelope. Its body keeps everything:

    {"dead_letter": 1, "reason": full text, "flush": id, "at": t, "attributes": {...},
     "data_b64": the original body, base64, "truncated": bool}

Its attributes are the original's (bucket, name, generation: enough to find it without
decoding) plus `reason` and `flush`, all cut to Pub/Sub's limits, which count bytes, not
characters (a value at most 1,024 bytes, a key 256, 100 attributes). Pub/Sub's own
dead-lettering (after the subscription's max_delivery_attempts) forwards the original message
as it was; `unwrap` reads both forms. Bringing them back is ops/dead_letter_inbox.py.

A file the Hub rejects is acked only once its dead letter is confirmed. Its failed manifest names
the dead letters still owed (UNCONFIRMED, all of them when it is written); a message whose dead
letter was not confirmed is not acked, and when it comes back (its ledger record `failed`) it is
dead-lettered then (`settle_owed`) instead of being acked as a duplicate. A message may never
come back (acked as a duplicate once its name was imported anew, or carried by a manifest a
resume finished), so a failed manifest that owes also has an `owed/` marker (state/manifests.py)
and every flush sends what the markers name (`sweep_owed`), rebuilt from the manifest: its
objects and destination. Either way a dead letter is sent at least once, at worst twice.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
from hub_import.core import clock
from dataclasses import dataclass
from typing import Mapping

from hub_import.core.logs import log
from hub_import.core.text import cut_utf8
from hub_import.state.manifests import UNCONFIRMED

__all__ = ["UNCONFIRMED", "DeadLetter", "envelope", "unwrap", "owes", "owed_dead_letters", "settle_owed",
           "sweep_owed"]

MAX_VALUE_BYTES, MAX_KEY_BYTES, MAX_ATTRIBUTES = 1024, 256, 100
MAX_KEPT_BYTES = 1_000_000  # an object message is a few KB; a bigger body is garbage, kept in part
DELIVERY_COUNT = "CloudPubSubDeadLetterSourceDeliveryCount"
SWEEP_MAX = 50  # failed manifests whose owed dead letters one flush sends (the next goes on)

logger = logging.getLogger(__name__)


def envelope(data: bytes, attributes: Mapping[str, str], reason: str, flush_id: str) -> tuple[bytes, dict[str, str]]:
    """The dead letter for a message (`data`, `attributes`) that failed for `reason`."""
    kept = data[:MAX_KEPT_BYTES]
    body = {"dead_letter": 1, "reason": reason, "flush": flush_id, "at": clock.now(),
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


def owes(manifest_state: dict | None, external_id: str) -> bool:
    """Whether a failed manifest (its state) still owes `external_id` its dead letter."""
    return external_id in ((manifest_state or {}).get(UNCONFIRMED) or ())


def owed_dead_letters(manifests, manifest, unconfirmed: set[str], flush_id: str) -> None:
    """Record in failed `manifest` which of its dead letters are still owed (`unconfirmed`); logged
    when any is. If the write fails, it keeps owing more than it does: at worst a second dead letter."""
    if set(manifest.state.get(UNCONFIRMED) or ()) != unconfirmed:
        if not manifests.update(manifest, **{UNCONFIRMED: sorted(unconfirmed)}):
            return  # changed by another meanwhile: what it owes is read again by the next sweep
    if not unconfirmed:
        manifests.unmark_owed(manifest.path)
    if unconfirmed:
        log(logger, logging.ERROR, "dead letters of rejected files not confirmed; each flush sends them again "
            "(and a message that comes back for one is dead-lettered then)", flush_id=flush_id, manifest=manifest.path,
            external_ids=sorted(unconfirmed))


def settle_owed(queue, manifests, rows: list, flush_id: str) -> list[bool]:
    """Dead-letter again the items of `rows` ((item, failed manifest path)): messages of rejected files
    whose dead letter is still owed. For each, whether it is confirmed now (then it may be acked)."""
    confirmed = [False] * len(rows)
    by_path: dict[str, list[int]] = {}
    for i, (_, path) in enumerate(rows):
        by_path.setdefault(path, []).append(i)
    for path, indexes in by_path.items():
        manifest = manifests.load(path)
        if manifest is None:
            continue
        reason = f"Hub rejected: {manifest.state.get('error') or '?'}"
        items = [rows[i][0] for i in indexes]
        done = queue.dead_letter([(*item.message.encode(), reason) for item in items])
        for i, ok in zip(indexes, done):
            confirmed[i] = ok
        sent = {item.asset.external_id for item, ok in zip(items, done) if ok}
        owed_dead_letters(manifests, manifest, set(manifest.state.get(UNCONFIRMED) or ()) - sent, flush_id)
    return confirmed


def sweep_owed(queue, manifests, flush_id: str, lease_s: float, until: float = float("inf")) -> None:
    """Send the dead letters failed manifests still owe (their `owed/` markers, oldest first, at
    most SWEEP_MAX), rebuilt from each manifest; drop the marker of one that owes none. A marker
    whose manifest has no state yet is a live flush's unless older than a flush's claims (`lease_s`).
    Stops at the first manifest none of whose dead letters Pub/Sub confirms: the next flush goes on."""
    from hub_import.core.messages import ObjectMessage

    for n, (path, at) in enumerate(manifests.owed()):
        if n >= SWEEP_MAX or clock.monotonic() >= until:  # the rest of the flush is not spent here
            return
        manifest = manifests.load(path)
        if manifest is None:
            if clock.now() - at > lease_s:
                manifests.unmark_owed(path)
            continue
        owed = set(manifest.state.get(UNCONFIRMED) or ())
        rows = [(*ObjectMessage(ref, manifest.destination).encode(), asset.external_id)
                for asset, ref in zip(manifest.assets, manifest.objects) if asset.external_id in owed]
        if not rows:
            owed_dead_letters(manifests, manifest, set(), flush_id)
            continue
        reason = f"Hub rejected: {manifest.state.get('error') or '?'}"
        done = queue.dead_letter([(data, attributes, reason) for data, attributes, _ in rows])
        sent = {external_id for (_, _, external_id), ok in zip(rows, done) if ok}
        owed_dead_letters(manifests, manifest, owed - sent, flush_id)
        if not sent:
            return
