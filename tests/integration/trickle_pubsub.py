"""A test-only seam: one flush that pulls one message at a time, as a flush draining a large backlog
gets what arrives while it runs in later pulls; and, once it has pulled a deletion, the file is
uploaded again (TRICKLE_REUPLOAD=name, in LANDING_BUCKET) and the next pull waits for its import.

    TRICKLE_REUPLOAD=name python -m tests.integration.trickle_pubsub

Everything else (the emulators, the ingest function that queues the upload) is real."""
from __future__ import annotations

import os
import sys
import time


class Trickle:
    def __init__(self, real, reupload: str):
        self.real, self.reupload = real, reupload
        self.saw_deletion = self.uploaded = False

    def pull(self, *, subscription, max_messages, timeout=None, retry=None, **kwargs):
        if self.saw_deletion and self.reupload and not self.uploaded:
            from hub_import.core.clients import storage_client

            self.uploaded = True
            storage_client().bucket(os.environ["LANDING_BUCKET"]).blob(self.reupload).upload_from_string(
                "uploaded again", content_type="text/plain")
            until = time.monotonic() + 30
            while time.monotonic() < until:  # the ingest function queues its import in a moment
                answer = self.real.pull(subscription=subscription, max_messages=1, timeout=2, retry=retry)
                if answer.received_messages:
                    return answer
        answer = self.real.pull(subscription=subscription, max_messages=1, timeout=timeout, retry=retry)
        if any(m.message.attributes.get("kind") == "delete" for m in answer.received_messages):
            self.saw_deletion = True
        return answer

    def __getattr__(self, name):
        return getattr(self.real, name)


def main() -> int:
    from hub_import.core import clients
    from hub_import.ops import cli

    trickle = Trickle(clients.subscriber_client(), os.environ.get("TRICKLE_REUPLOAD", ""))
    clients.subscriber_client = lambda: trickle
    return cli.main(["flush"])


if __name__ == "__main__":
    sys.exit(main())
