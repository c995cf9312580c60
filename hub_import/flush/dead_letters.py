"""Dead letters: messages the flush could not import, kept with their reason (their form).

The flush publishes a dead letter as an envelope. Its body keeps everything:

    {"dead_letter": 1, "reason": full text, "flush": id, "at": t, "attributes": {...},
     "data_b64": the original body, base64, "truncated": bool}

Its attributes are the original's (bucket, name, generation: enough to find it without
decoding) plus `reason` and `flush`, all cut to Pub/Sub's limits, which count bytes, not
characters (a value at most 1,024 bytes, a key 256, 100 attributes). Pub/Sub's own
dead-lettering (after the subscription's max_delivery_attempts) forwards the original message
as it was; `unwrap` reads both forms. Bringing them back is ops/dead_letter_inbox.py.
"""
from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import Mapping

from hub_import.core.text import cut_utf8

MAX_VALUE_BYTES, MAX_KEY_BYTES, MAX_ATTRIBUTES = 1024, 256, 100
MAX_KEPT_BYTES = 1_000_000  # an object message is a few KB; a bigger body is garbage, kept in part
DELIVERY_COUNT = "CloudPubSubDeadLetterSourceDeliveryCount"


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
