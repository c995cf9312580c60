"""Google Cloud clients, created once per process on first use and reused across invocations.

Against the local emulators (STORAGE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST) they need no
credentials; on GCP they use the function's service account.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache

from google.cloud.storage.retry import DEFAULT_RETRY

_lock = threading.Lock()


# The library's policy (the same errors, full jitter), with shorter waits: the first up to 0.1 s
# instead of 1 s, none over 2 s instead of 60 s, 60 s in all instead of 120 s. These are small
# documents written inside a flush's time budget, 32 at a time: one write backing off for half
# a minute holds up its whole manifest, and one that gives up after two minutes ends the flush.
GCS_RETRY = DEFAULT_RETRY.with_delay(initial=0.1, maximum=2.0, multiplier=2.0).with_timeout(60.0)

POOL_SIZE = 64  # connections kept to GCS: the flush and backfill work with up to 32 threads


@lru_cache(maxsize=1)
def storage_client():
    from google.cloud import storage
    from requests.adapters import HTTPAdapter

    with _lock:
        if os.environ.get("STORAGE_EMULATOR_HOST"):
            from google.auth.credentials import AnonymousCredentials

            client = storage.Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT") or "local",
                                    credentials=AnonymousCredentials())
        else:
            client = storage.Client()
        for scheme in ("https://", "http://"):
            client._http.mount(scheme, HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE))
        return client


@lru_cache(maxsize=1)
def publisher_client():
    from google.cloud import pubsub_v1

    with _lock:
        return pubsub_v1.PublisherClient(batch_settings=pubsub_v1.types.BatchSettings(
            max_messages=1000, max_bytes=4 * 1024 * 1024, max_latency=0.01))


@lru_cache(maxsize=1)
def subscriber_client():
    from google.cloud import pubsub_v1

    with _lock:
        return pubsub_v1.SubscriberClient()
