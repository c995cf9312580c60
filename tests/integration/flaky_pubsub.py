"""A test-only seam: one flush whose Pub/Sub acks and lease changes fail a share of the time.

    FLAKY_ACK_SHARE=0.1 FLAKY_STATS=path python -m tests.integration.flaky_pubsub

runs `python -m hub_import flush` with the process's one SubscriberClient wrapped: each
`acknowledge` and `modify_ack_deadline` call fails with 503 ServiceUnavailable, before it
reaches the emulator, with probability FLAKY_ACK_SHARE. Everything else (pull, and the
emulator itself) is real. It is not a network fault proxy: acks travel inside gRPC calls that
a TCP proxy cannot tell apart, so the fault is injected at the client, in the flush's own
process, where the flush sees exactly what a failed ack looks like. The counts (calls, failed
calls, ack ids in them) are appended to FLAKY_STATS as one JSON line when the flush ends.
"""
from __future__ import annotations

import json
import os
import random
import sys
import threading
from collections import Counter

from google.api_core import exceptions


class FlakySubscriber:
    """The real subscriber, but acks and lease changes fail with probability `share`."""

    def __init__(self, real, share: float, rng: random.Random):
        self.real, self.share, self.rng = real, share, rng
        self.counts: Counter = Counter()
        self.lock = threading.Lock()

    def _maybe_fail(self, kind: str, ack_ids) -> None:
        with self.lock:
            self.counts[f"{kind}_calls"] += 1
            self.counts[f"{kind}_ids"] += len(ack_ids)
            fail = self.rng.random() < self.share
            if fail:
                self.counts[f"{kind}_failed_calls"] += 1
                self.counts[f"{kind}_failed_ids"] += len(ack_ids)
        if fail:
            raise exceptions.ServiceUnavailable(f"injected: {kind} failed")

    def acknowledge(self, *, subscription, ack_ids, **kwargs):
        self._maybe_fail("ack", ack_ids)
        return self.real.acknowledge(subscription=subscription, ack_ids=ack_ids, **kwargs)

    def modify_ack_deadline(self, *, subscription, ack_ids, ack_deadline_seconds, **kwargs):
        self._maybe_fail("lease", ack_ids)
        return self.real.modify_ack_deadline(subscription=subscription, ack_ids=ack_ids,
                                             ack_deadline_seconds=ack_deadline_seconds, **kwargs)

    def __getattr__(self, name):
        return getattr(self.real, name)


def main() -> int:
    from hub_import.core import clients
    from hub_import.ops import cli

    real = clients.subscriber_client()
    flaky = FlakySubscriber(real, float(os.environ.get("FLAKY_ACK_SHARE", "0.1")),
                            random.Random(os.environ.get("FLAKY_SEED", str(os.getpid()))))
    clients.subscriber_client = lambda: flaky
    try:
        return cli.main(["flush"])
    finally:
        if os.environ.get("FLAKY_STATS"):
            with open(os.environ["FLAKY_STATS"], "a") as out:
                out.write(json.dumps(dict(flaky.counts)) + "\n")


if __name__ == "__main__":
    sys.exit(main())
