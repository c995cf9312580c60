#!/usr/bin/env python3
"""The local Eventarc: fake-gcs-server's notifications, delivered as Eventarc's CloudEvents.

It pulls the OBJECT_FINALIZE notifications fake-gcs-server publishes, turns each into the
CloudEvent Eventarc sends for a Cloud Storage trigger (binary mode; `ce-type`
google.cloud.storage.object.v1.finalized, `ce-source` //storage.googleapis.com/projects/_/buckets/B,
`ce-subject` objects/NAME, data the object resource) and POSTs it to the ingest function. A
delivery that fails (no answer or not 2xx) is retried with backoff, as Eventarc does; only a
2xx acknowledges the notification. With --deletions (the stack's ON_DELETE=delete, as Terraform
adds the deletion triggers then) OBJECT_DELETE and OBJECT_ARCHIVE go too, as `.deleted` and
`.archived`; fake-gcs-server publishes them for deleted objects, and for the generation an
overwrite replaces.

Events can be lost on purpose, as Eventarc loses them (a delivery dropped after 24 hours, a
trigger being replaced): with --lose-file PATH, a notification for an object whose name starts
with one of the lines of that file (read again for each one; no file, nothing lost) is
acknowledged and never delivered. That is how a test shows the sweep finding such files.

Usage: eventarc_bridge.py --subscription projects/P/subscriptions/S --target URL [--deletions]
       [--concurrency N] [--lose-file PATH]
(PUBSUB_EMULATOR_HOST must point at the emulator).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import requests
from google.cloud import pubsub_v1

FINALIZED = "google.cloud.storage.object.v1.finalized"
EVENT_TYPES = {"OBJECT_FINALIZE": FINALIZED}
DELETION_TYPES = {"OBJECT_DELETE": "google.cloud.storage.object.v1.deleted",
                  "OBJECT_ARCHIVE": "google.cloud.storage.object.v1.archived"}


def cloud_event(message, types: dict[str, str] = EVENT_TYPES) -> tuple[dict, bytes] | None:
    """(headers, body) of the CloudEvent for one notification, or None if it is not one we forward
    (`types`: notification eventType -> CloudEvent type)."""
    attributes = dict(message.attributes)
    kind = types.get(attributes.get("eventType", ""))
    if kind is None:
        return None
    bucket, name = attributes.get("bucketId", ""), attributes.get("objectId", "")
    headers = {
        "ce-specversion": "1.0",
        "ce-id": message.message_id,
        "ce-type": kind,
        "ce-source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        # CloudEvents' HTTP binding percent-encodes what is not printable ASCII in a header.
        "ce-subject": "objects/" + quote(name, safe="/!#$&'()*+,:;=?@[]~ "),
        "ce-time": attributes.get("eventTime") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "Content-Type": "application/json",
    }
    return headers, bytes(message.data)


def lost(message, lose_file: str | None) -> bool:
    """Whether the notification's object is one whose events are to be lost (see the docstring)."""
    if not lose_file:
        return False
    try:
        with open(lose_file, encoding="utf-8") as f:
            prefixes = [line.rstrip("\n") for line in f if line.strip()]
    except OSError:
        return False
    name = dict(message.attributes).get("objectId", "")
    return any(name.startswith(p) for p in prefixes)


def run(subscription: str, target: str, stop_after: float | None = None, deletions: bool = False,
        concurrency: int = 1, lose_file: str | None = None) -> None:
    """Deliver until `stop_after` seconds have passed (None: for ever), `concurrency` events at a
    time (Eventarc pushes many at once, up to what the function's instances take)."""
    types = {**EVENT_TYPES, **(DELETION_TYPES if deletions else {})}
    subscriber = pubsub_v1.SubscriberClient()
    attempts: dict[str, int] = {}
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=max(10, concurrency)))
    pool = ThreadPoolExecutor(concurrency) if concurrency > 1 else None
    started = time.monotonic()

    def deliver(received) -> None:
        event = cloud_event(received.message, types)
        if event is None or lost(received.message, lose_file):
            subscriber.acknowledge(subscription=subscription, ack_ids=[received.ack_id])
            return
        headers, body = event
        try:
            status = session.post(target, headers=headers, data=body, timeout=60).status_code
        except requests.RequestException as exc:
            status = f"no answer ({type(exc).__name__})"
        if isinstance(status, int) and 200 <= status < 300:
            subscriber.acknowledge(subscription=subscription, ack_ids=[received.ack_id])
            attempts.pop(received.message.message_id, None)
            return
        n = attempts[received.message.message_id] = attempts.get(received.message.message_id, 0) + 1
        delay = min(2 ** n, 60)
        print(json.dumps({"severity": "WARNING", "message": "delivery failed; will retry",
                          "status": status, "event_id": received.message.message_id,
                          "attempt": n, "retry_in_s": delay}), flush=True)
        subscriber.modify_ack_deadline(subscription=subscription, ack_ids=[received.ack_id],
                                       ack_deadline_seconds=delay)

    while stop_after is None or time.monotonic() - started < stop_after:
        try:
            answer = subscriber.pull(subscription=subscription, max_messages=max(50, 4 * concurrency), timeout=5)
        except Exception as exc:  # noqa: BLE001 - an emulator hiccup: try again
            print(json.dumps({"severity": "WARNING", "message": f"pull failed: {exc}"}), flush=True)
            time.sleep(0.5)
            continue
        if pool is None:
            for received in answer.received_messages:
                deliver(received)
        else:
            list(pool.map(deliver, answer.received_messages))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscription", required=True)
    parser.add_argument("--target", required=True, help="the ingest function's URL")
    parser.add_argument("--deletions", action="store_true", help="deliver deleted and archived objects too")
    parser.add_argument("--concurrency", type=int, default=1, help="events delivered at once (default 1)")
    parser.add_argument("--lose-file", help="a file of name prefixes whose events are lost (never delivered)")
    args = parser.parse_args(argv)
    run(args.subscription, args.target, deletions=args.deletions, concurrency=args.concurrency,
        lose_file=args.lose_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
