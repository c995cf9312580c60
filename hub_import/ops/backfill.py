"""Backfill: objects already in a bucket, sent down the same path a finalize event takes.

Listing is streamed in pages of 1000, image sizes are probed by a bounded pool, messages are
published with client-side batching, and at most `window` objects are in flight at once, so
memory stays flat however large the bucket. The ledger makes a second run, or a run beside
live events, import nothing twice.
"""
from __future__ import annotations

import logging
import sys
from collections import Counter, defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from hub_import.core.admission import foreign_bucket
from hub_import.core.decisions import decide
from hub_import.core.messages import publish
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import Settings
from hub_import.ingest.handler import describe
from hub_import.core import clock

logger = logging.getLogger(__name__)


@dataclass
class BackfillReport:
    listed: int = 0
    queued: int = 0
    skipped: int = 0
    by_route: Counter = field(default_factory=Counter)
    by_reason: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=lambda: defaultdict(list))
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"listed": self.listed, "queued": self.queued, "skipped": self.skipped,
                "by_route": dict(self.by_route), "by_reason": dict(self.by_reason),
                "examples": {k: v for k, v in self.examples.items()}, "seconds": round(self.seconds, 2)}


def parse_target(target: str) -> tuple[str, str]:
    """gs://BUCKET[/PREFIX] -> (bucket, prefix)."""
    if not target.startswith("gs://") or len(target) <= 5:
        raise ValueError(f"expected gs://BUCKET[/PREFIX], got {target!r}")
    bucket, _, prefix = target[5:].partition("/")
    return bucket, prefix


def list_objects(bucket, prefix: str, since: datetime | None):
    """Object references under `prefix`, streamed a page (1000) at a time."""
    fields = "items(name,generation,size,contentType,md5Hash,crc32c,timeCreated,metadata),nextPageToken"
    for blob in bucket.list_blobs(prefix=prefix or None, page_size=1000, fields=fields):
        if since and blob.time_created and blob.time_created < since:
            continue
        yield ObjectRef.from_blob(blob)


class Progress:
    """A tqdm bar on a terminal; a plain line every few seconds otherwise, and wherever tqdm is not
    installed: it is the CLI's (requirements-cli.txt), not in the functions' artifact."""

    def __init__(self, total: int | None, stream=None, every_s: float = 5.0):
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = self.last = clock.monotonic()
        self.every_s = every_s
        self.bar = None
        if self.tty:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=total, unit="obj", file=self.stream, dynamic_ncols=True)

    def update(self, report: BackfillReport) -> None:
        if self.bar is not None:
            self.bar.n = report.listed
            self.bar.set_postfix(queued=report.queued, skipped=report.skipped, refresh=False)
            self.bar.refresh()
            return
        now = clock.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            rate = report.listed / max(now - self.started, 1e-9)
            print(f"backfill: {report.listed} listed, {report.queued} queued, {report.skipped} skipped, "
                  f"{rate:.0f}/s", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def backfill(settings: Settings, target: str, *, since: datetime | None = None, dry_run: bool = False,
             workers: int = 16, window: int = 500, progress: Progress | None = None, client=None) -> BackfillReport:
    """List `target` and queue each eligible object as a finalize event would (or only count, dry-run).
    ValueError when `target` is not gs://BUCKET[/PREFIX] of the landing bucket."""
    from hub_import.core.clients import storage_client

    bucket_name, prefix = parse_target(target)
    foreign = foreign_bucket(bucket_name, settings)
    if foreign:  # the flush would dead-letter every object queued from it (core/admission.py)
        raise ValueError(f"{foreign}: the flush imports only objects of the landing bucket (LANDING_BUCKET) and "
                         "would dead-letter these; nothing queued")
    bucket = (client or storage_client()).bucket(bucket_name)
    report = BackfillReport()
    started = clock.monotonic()
    publishing: deque = deque()  # published, not yet confirmed, oldest first

    def confirm(keep: int = 0) -> None:
        while len(publishing) > keep:
            publishing.popleft().result(timeout=60)  # raises if Pub/Sub did not take it: the run stops, loudly
            report.queued += 1

    def describe_and_publish(ref: ObjectRef):
        message = describe(ref, settings, source="backfill")
        return None if message is None else publish(settings.topic_path, message)

    def run_batch(refs: list[ObjectRef]) -> None:
        for published in pool.map(describe_and_publish, refs):
            if published is None:
                report.skipped += 1
            else:
                publishing.append(published)
        confirm(keep=window)

    with ThreadPoolExecutor(workers) as pool:
        batch: list[ObjectRef] = []
        for ref in list_objects(bucket, prefix, since):
            report.listed += 1
            if dry_run:
                decision = decide(ref, settings)
                key = (f"{decision.destination.project} {list(decision.destination.batches)}"
                       if decision.destination else None)
                counter, label = (report.by_route, key) if key else (report.by_reason, decision.reason)
                counter[label] += 1
                if len(report.examples[label]) < 3:
                    report.examples[label].append(ref.name)
                if key:
                    report.queued += 1
                else:
                    report.skipped += 1
            else:
                batch.append(ref)
                if len(batch) >= window:
                    run_batch(batch)
                    batch = []
            if progress:
                progress.update(report)
        run_batch(batch)
        confirm()
    if progress:
        progress.update(report)
        progress.close()
    report.seconds = clock.monotonic() - started
    return report


def parse_since(text: str | None) -> datetime | None:
    if not text:
        return None
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
