"""`sweep --deletions`: deletions whose event was lost (ON_DELETE=delete), found and queued.

A file deleted while its deletion event was lost (Eventarc gave up, a trigger replaced) leaves its
asset in the Hub for good. This walks the ledger: every record of a file sent to the Hub (or whose
DELETE was sent, its answer lost) in the landing bucket, whose name has no live generation there
now, gets a deletion message on the topic, as the ingest function would have queued it. The flush
takes it from there: the same deleter (which asks the bucket again, and finds a deletion already
done in the ledger) and the same guard (MAX_DELETIONS_PER_HOUR; past it, held). A file whose
deletion is held already is not queued again.

Cost: one listing of the landing bucket (its live names, kept in memory: about 100 bytes a name),
one listing of the ledger, one read per ledger record (a record's name is in its body, its path is
a hash). By hand, or on a schedule of hours: it reads every record each time.
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from hub_import.core import clock
from hub_import.core.messages import DeletionMessage, PublishError, wait
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import Settings
from hub_import.state.held_deletions import HeldDeletions
from hub_import.state.ledger import CLAIMED, DELETING, SENT, Ledger

SOURCE = "sweep"
READERS = 16


@dataclass
class SweepReport:
    """What a sweep did (or, dry run, would do); its JSON: docs/json/sweep.md."""

    dry_run: bool = False  # counted; nothing queued
    records: int = 0  # ledger records read
    sent: int = 0  # of files in the Hub (or being deleted there), in the landing bucket
    gone: int = 0  # of those, no generation of the name live in the bucket
    held: int = 0  # of those, held already (deletions --approve)
    kept: int = 0  # of those, discarded by a person (deletions --discard): never queued again
    queued: int = 0  # deletion messages confirmed by Pub/Sub
    failed: int = 0  # not confirmed: run it again
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return (f"{self.records} ledger records read, {self.sent} files in the Hub, {self.gone} gone from the "
                f"bucket, {self.held} of them held already, {self.kept} kept (discarded), {self.queued} deletions queued"
                + (f", {self.failed} failed (run it again)" if self.failed else "") + f" in {self.seconds:.1f} s")


def sweep_deletions(settings: Settings, store, storage, publisher, *, dry_run: bool = False) -> SweepReport:
    """Queue a deletion for every file in the Hub whose object is gone from LANDING_BUCKET (see the
    module docstring). `store`: the state bucket's JsonStore; `storage`: a GCS client."""
    started = clock.monotonic()
    report = SweepReport(dry_run=dry_run)
    bucket = settings.landing_bucket
    live = {b.name for b in storage.bucket(bucket).list_blobs(page_size=1000, fields="items(name),nextPageToken")}
    ledger = Ledger(store, settings.ledger_prefix, settings.each_generation)
    held = HeldDeletions(store, settings.ledger_prefix)
    record = re.compile(re.escape(settings.ledger_prefix) + r"[0-9a-f]{2}/[0-9a-f]{64}\.json$")
    paths = (p for p in store.list(settings.ledger_prefix) if record.match(p))
    futures = []
    with ThreadPoolExecutor(READERS) as pool:
        for doc in pool.map(store.read, paths):
            if doc is None:
                continue
            report.records += 1
            ref = _gone_candidate(doc.body, bucket, ledger)
            if ref is None:
                continue
            report.sent += 1
            if ref.name in live:
                continue
            report.gone += 1
            if held.read(ledger.key(ref)) is not None:
                report.held += 1
                continue
            if held.keeps(ledger.key(ref), ref.generation):  # a person discarded its deletion: the assets stay
                report.kept += 1
                continue
            if not dry_run:
                data, attributes = DeletionMessage(ref, "deleted", f"sweep-{ref.generation}", SOURCE).encode()
                futures.append(publisher.publish(settings.topic_path, data, **attributes))
    for future in futures:
        try:
            wait(future)
            report.queued += 1
        except PublishError:
            report.failed += 1
    report.seconds = round(clock.monotonic() - started, 3)
    return report


def _gone_candidate(body: dict, bucket: str, ledger: Ledger) -> ObjectRef | None:
    """The object of a ledger record of a file in the Hub (sent, or its DELETE under way) in `bucket`."""
    state = body.get("state")
    in_hub = state in (SENT, DELETING) or (state == CLAIMED and ledger.is_sent(str(body.get("manifest") or "")))
    uri = str(body.get("object") or "")
    prefix = f"gs://{bucket}/"
    if not in_hub or not uri.startswith(prefix):
        return None
    try:
        return ObjectRef(bucket, uri[len(prefix):], int(body.get("generation") or 0)).checked()
    except (TypeError, ValueError):
        return None
