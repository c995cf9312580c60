"""A test-only seam: one flush that pulls one message at a time, as a flush draining a large backlog
gets what arrives while it runs in later pulls; and, once it has pulled a deletion, the file is
uploaded again (TRICKLE_REUPLOAD=name, in LANDING_BUCKET) and the next pull waits for its import.

    TRICKLE_REUPLOAD=name TRICKLE_STATS=path python -m tests.integration.trickle_pubsub

Everything else (the emulators, the ingest function that queues the upload) is real. What it did
(pulls, the deletion seen, the file uploaded again, its import pulled after) is appended to
TRICKLE_STATS as one JSON line when the flush ends, so that a test asserts its fault happened."""
from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter


class Trickle:
    def __init__(self, real, reupload: str):
        self.real, self.reupload = real, reupload
        self.saw_deletion = self.uploaded = False
        self.counts: Counter = Counter()

    def pull(self, *, subscription, max_messages, timeout=None, retry=None, **kwargs):
        self.counts["pulls"] += 1
        if self.saw_deletion and self.reupload and not self.uploaded:
            from hub_import.core.clients import storage_client

            self.uploaded = True
            storage_client().bucket(os.environ["LANDING_BUCKET"]).blob(self.reupload).upload_from_string(
                "uploaded again", content_type="text/plain")
            self.counts["uploaded_again"] += 1
            until = time.monotonic() + 30
            while time.monotonic() < until:  # the ingest function queues its import in a moment
                answer = self.real.pull(subscription=subscription, max_messages=1, timeout=2, retry=retry)
                if answer.received_messages:
                    self.counts["pulled_after_upload"] += len(answer.received_messages)
                    return answer
        answer = self.real.pull(subscription=subscription, max_messages=1, timeout=timeout, retry=retry)
        if any(m.message.attributes.get("kind") == "delete" for m in answer.received_messages):
            self.saw_deletion = True
            self.counts["deletions_pulled"] += 1
        return answer

    def __getattr__(self, name):
        return getattr(self.real, name)


def main() -> int:
    from hub_import.core import clients
    from hub_import.ops import cli

    trickle = Trickle(clients.subscriber_client(), os.environ.get("TRICKLE_REUPLOAD", ""))
    clients.subscriber_client = lambda: trickle
    try:
        return cli.main(["flush"])
    finally:
        if os.environ.get("TRICKLE_STATS"):
            with open(os.environ["TRICKLE_STATS"], "a") as out:
                out.write(json.dumps(dict(trickle.counts)) + "\n")


if __name__ == "__main__":
    sys.exit(main())
