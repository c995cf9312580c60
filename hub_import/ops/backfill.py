"""Backfill: objects already in a bucket, sent down the same path a finalize event takes.

Listing is streamed in pages of 1000, image sizes are probed by a bounded pool, messages are
published with client-side batching, and at most `window` objects are in flight at once, so
memory stays flat however large the bucket. The ledger makes a second run, or a run beside
live events, import nothing twice. A dry run publishes nothing: it judges each file against the
rules and the ledger (backfill_plan.py) and keeps each file's plan for the report.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from hub_import.core.admission import foreign_bucket
from hub_import.core.messages import publish
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import Settings
from hub_import.ingest.handler import describe
from hub_import.core import clock
from hub_import.state.ledger import Ledger

from .progress import Progress as TerminalProgress
from .backfill_plan import IN_HUB, NEW, SKIPPED, FilePlan, route_json, judge

logger = logging.getLogger(__name__)


@dataclass
class BackfillReport:
    """What a backfill did (or, dry run, would do). `queued` counts the messages published (dry run:
    that would be); a dry run also judges each file (backfill_plan.py): `files`, and the counts
    `new`, `in_hub`, `skipped` (by reason), routes by destination."""
    listed: int = 0
    queued: int = 0
    skipped: int = 0
    dry_run: bool = False
    new: int = 0
    in_hub: int = 0
    by_route: Counter = field(default_factory=Counter)  # Destination -> files routed there
    by_reason: Counter = field(default_factory=Counter)  # skip reason -> files
    examples: dict = field(default_factory=lambda: defaultdict(list))  # Destination or reason -> up to 3 names
    files: list[FilePlan] = field(default_factory=list)  # dry run: each file's plan, in listing order
    seconds: float = 0.0

    def count(self, plan: FilePlan, name: str) -> None:
        """Count one dry-run file's plan."""
        self.files.append(plan)
        self.new += plan.verdict == NEW
        self.in_hub += plan.verdict == IN_HUB
        if plan.verdict == SKIPPED:
            self.skipped += 1
            self.by_reason[plan.reason] += 1
            label = plan.reason
        else:
            self.queued += 1  # a real run publishes its message; the flush drops one in the Hub already
            self.by_route[plan.destination] += 1
            label = plan.destination
        if len(self.examples[label]) < 3:
            self.examples[label].append(name)

    def to_json(self) -> dict:
        """The schema of `backfill --json` (docs/json/backfill.md)."""
        body = {"dry_run": self.dry_run, "listed": self.listed, "queued": self.queued, "skipped": self.skipped,
                "routes": [{**route_json(d), "count": n, "examples": self.examples.get(d, [])}
                           for d, n in self.by_route.most_common()],
                "skipped_by_reason": [{"reason": r, "count": n, "examples": self.examples.get(r, [])}
                                      for r, n in self.by_reason.most_common()],
                "seconds": round(self.seconds, 3)}
        if self.dry_run:
            body.update(new=self.new, in_hub=self.in_hub, files=[f.to_json() for f in self.files])
        return body


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
    """Backfill's progress (progress.py): a bar on a terminal, else a plain line every few seconds."""

    def __init__(self, total: int | None, stream=None, every_s: float = 5.0):
        self.shown = TerminalProgress(total, stream, every_s, unit="obj")

    def update(self, report: BackfillReport) -> None:
        rate = self.shown.rate(report.listed)
        self.shown.update(report.listed, f"backfill: {report.listed} listed, {report.queued} queued, "
                                         f"{report.skipped} skipped, {rate:.0f}/s",
                          queued=report.queued, skipped=report.skipped)

    def close(self) -> None:
        self.shown.close()


def backfill(settings: Settings, target: str, *, since: datetime | None = None, dry_run: bool = False,
             workers: int = 16, window: int = 500, progress: Progress | None = None, client=None,
             ledger: Ledger | None = None) -> BackfillReport:
    """List `target` and queue each eligible object as a finalize event would (or, dry run, judge
    each against the rules and `ledger`: backfill_plan.py). ValueError when `target` is not
    gs://BUCKET[/PREFIX] of the landing bucket."""
    from hub_import.core.clients import storage_client

    bucket_name, prefix = parse_target(target)
    foreign = foreign_bucket(bucket_name, settings)
    if foreign:  # the flush would dead-letter every object queued from it (core/admission.py)
        raise ValueError(f"{foreign}: the flush imports only objects of the landing bucket (LANDING_BUCKET) and "
                         "would dead-letter these; nothing queued")
    bucket = (client or storage_client()).bucket(bucket_name)
    report = BackfillReport(dry_run=dry_run)
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
        if dry_run:
            for ref, plan in zip(refs, pool.map(lambda r: judge(r, settings, ledger), refs)):
                report.count(plan, ref.name)
            return
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
