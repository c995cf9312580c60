"""What `make bench` measures the product against: floors measured in the same run, on the same
stack; the queue messages the cases load; the figures around them (percentiles, the machine's
load while a case ran)."""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor

from hub_import.flush.run import IO_THREADS


def ledger_record(i: int) -> bytes:
    """A record of the size the ledger writes for one object (the fields a claim holds)."""
    return json.dumps({"state": "claimed", "object": f"gs://landing/bench/floor/{i:06d}.jpg", "generation": 1,
                       "external_id": f"bench/floor/{i:06d}.jpg",
                       "manifest": "manifests/2026/01/01/000000Z-000000abcdef-001.json",
                       "flush": "000000abcdef", "at": time.time()}, separators=(",", ":")).encode()


def ledger_floor(bucket, n: int, prefix: str, threads: int = IO_THREADS) -> float:
    """Seconds for `n` bare conditional creates (`if_generation_match=0`, one per object, nothing
    else), `threads` at a time, into `bucket` with the product's GCS client: the one durable write
    that "once" needs, at the concurrency the flush claims with, laid out as the ledger lays out
    its records (PREFIX/<first two hex digits>/<sha256>.json)."""
    bodies = [ledger_record(i) for i in range(n)]
    keys = [hashlib.sha256(f"{prefix}{i}".encode()).hexdigest() for i in range(n)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: bucket.blob(f"{prefix}{keys[i][:2]}/{keys[i]}.json").upload_from_string(
            bodies[i], content_type="application/json", if_generation_match=0), range(n)))
    return time.perf_counter() - started


def publish_messages(env: dict, prefix: str, n: int, size=(640, 480)) -> None:
    """Queue `n` messages as the ingest function would for landing/PREFIXnnnnnn.jpg (the flush
    does not read the objects themselves)."""
    from hub_import.core.clients import publisher_client
    from hub_import.core.messages import ObjectMessage
    from hub_import.core.objects import ObjectRef
    from hub_import.core.routes import Destination

    publisher = publisher_client()
    topic = publisher.topic_path(env["GOOGLE_CLOUD_PROJECT"], env["PUBSUB_TOPIC"])
    dest = Destination(env["HUB_PROJECT_ID"], env["HUB_STORAGE_ID"])
    futures = []
    for i in range(n):
        ref = ObjectRef("landing", f"{prefix}{i:06d}.jpg", 1, 50_000, "image/jpeg")
        data, attrs = ObjectMessage(ref, dest, size).encode()
        futures.append(publisher.publish(topic, data, **attrs))
    for f in futures:
        f.result(timeout=120)


def hub_paced_floor(calls: int, per_minute: float) -> float:
    """Seconds that `calls` Hub calls take at `per_minute`, evenly spaced (the first one is free)."""
    return max(0, calls - 1) * 60.0 / per_minute


def import_calls(n: int, size: int) -> int:
    return math.ceil(n / size)


def spread(values: list[float]) -> dict:
    """p50, p95 and max of `values` (nearest rank), rounded to 0.1."""
    if not values:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
    return {"p50": round(rank(0.50), 1), "p95": round(rank(0.95), 1), "max": round(ordered[-1], 1)}


def ratio(value: float | None, floor: float | None) -> float | None:
    return round(value / floor, 2) if value is not None and floor else None


def load() -> dict:
    """The machine's load averages (1, 5 minutes) and cores: how busy it was with other work too."""
    one, five, _ = os.getloadavg()
    return {"load_1m": round(one, 2), "load_5m": round(five, 2), "cores": os.cpu_count()}
