"""The sweep: files whose event was lost, found by listing the landing bucket and queued as an
event would have queued them.

Eventarc drops a delivery it could not make in 24 hours, and GCS promises notifications at least
once, not without loss; a trigger being replaced, a failing revision, a quota error lose events
for good. So every SWEEP_EVERY_MINUTES a scheduled call (main.py `sweep`) lists the landing
bucket, only under the prefixes some route can take (`listing_prefixes`), and every eligible
object older than SWEEP_GRACE_SECONDS (its event may still be on its way) without a ledger record
goes down the same path an event takes (`handler.describe`, then the same topic), with source
"sweep". Should its event come too, the ledger keeps the file once. Nothing here holds the flush's
lease or anything else the flush waits on: files that events deliver are never slowed by it.

Cost and bounds. One listing row per object, and one ledger read only for an object created
after the watermark (and for every object of the last day in the first two passes):
- Each run stops at its budget (FLUSH_BUDGET_SECONDS, or `max_objects` listed), at a page's end,
  and keeps a cursor in the state bucket (state/sweep_state.py): the prefix it was in and the last
  name done. The next run goes on from there (listing from that name), so a bucket of any size is
  covered in as many runs as it takes, in memory of one page.
- Which files a run judges: those created before its cutoff (ingest/sweep_waiting.py: the grace
  ago, or, while messages wait in the queue, the grace before the oldest of them; none while the
  flush takes no messages), after the watermark, and after the floor (the first run less a day:
  older files raised no event the product could have lost, and are `backfill`'s).
- The watermark, in GCS's clock (timeCreated), never this host's: when a pass (every prefix
  listed to its end) completes, it becomes min(bound, judged_before, started - grace) - OVERLAP_S.
  `bound` is the newest timeCreated listed before the pass began, `judged_before` the lowest
  cutoff of the pass's runs (state/sweep_state.py Cursor.complete); a first pass, with no listing
  before it, leaves it where it was. It only moves after a complete pass, and stays when what is
  listed changes (routes, filters: files before it came under other rules, `backfill`'s; but the
  band the ending rules left unjudged is judged still: Cursor.rescoped).
  Why it is safe: every object created before the pass began was in the listing for the whole
  pass, so the pass listed it; it was judged then unless created after a run's cutoff, and an
  object created before `judged_before` never is. `bound` was created before the pass began, so
  an object created after the pass began (behind the cursor, unlisted) is newer than it, and the
  next pass checks it: whatever the clock of the host that ran the pass (a laptop running the CLI
  an hour ahead sets no watermark past files it never saw). OVERLAP_S covers an object whose
  timeCreated is earlier than the moment it became listable (a slow finalize, a resumable upload
  finished late): up to OVERLAP_S, nothing is missed. A watermark later than the newest object
  less OVERLAP_S, which no pass could set, is distrusted (a fresh pass from the floor). A file older than the watermark whose
  record is later removed is not this sweep's to find (`backfill`).

Tell it: one log line a run ("sweep done": listed, known, queued as missed, list calls, ledger
reads, seconds, error, when the last complete pass ended; WARNING when it queued anything: events
are being lost; ERROR, with `error`, when the run failed: a refused publish, listing or state
bucket), a record of the last run (`status`, which flags a failed sweep and a pass overdue), and a
marker per file it queued (`trace`).
"""
from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from hub_import.core import clock
from hub_import.core.decisions import decide
from hub_import.core.logs import log
from hub_import.core.messages import publish, wait
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import Settings
from hub_import.state.ledger import Ledger
from hub_import.state.store import ConflictError, JsonStore
from hub_import.state.sweep_state import QUEUE_HOLDS, Cursor, SweepRecord, SweepState

from . import sweep_waiting
from .sweep_scope import created_at, known, listing_prefixes, scope_of
from .handler import describe

logger = logging.getLogger(__name__)

OVERLAP_S = 600.0  # clock skew between this host and GCS, and late finalizes, the watermark allows for
FLOOR_S = 86400.0  # the sweep looks back this far before its first run (Eventarc retries a delivery 24 h)
PAGE_SIZE = 1000  # GCS's largest listing page
SAVE_EVERY_S = 10.0  # how often a run writes its cursor (and always when it stops)
WORKERS = 16  # ledger reads (and size probes, publishes) of one page at once
FIELDS = "items(name,generation,size,contentType,md5Hash,crc32c,timeCreated,metadata),nextPageToken"


@dataclass
class SweepReport(SweepRecord):
    """One run: SweepRecord's counts, and those that cost nothing (no ledger read)."""

    young: int = 0  # younger than the grace: left to their event (the next pass looks again)
    older: int = 0  # created before the watermark: checked by an earlier complete pass
    skipped: int = 0  # the rules skip them (folders, filters, no route)
    stopped: str = ""  # why the run ended before the pass did ("budget", "objects", "another sweep", QUEUE_HOLDS)

    def to_json(self) -> dict:
        return {**super().to_json(), "young": self.young, "older": self.older, "skipped": self.skipped,
                "stopped": self.stopped}


class Sweep:
    """One bounded run of the sweep (see the module docstring). `storage`: a storage client;
    `store`: the state bucket's JsonStore; `send`: publish (a future per message)."""

    def __init__(self, settings: Settings, *, storage=None, store: JsonStore | None = None, send=publish,
                 budget_s: float | None = None, max_objects: int | None = None, page_size: int = PAGE_SIZE,
                 workers: int = WORKERS, describe_object=describe):
        from hub_import.core.clients import storage_client

        self.settings = settings
        self.storage = storage or storage_client()
        self.store = store or JsonStore(self.storage.bucket(settings.state_bucket))
        self.state = SweepState(self.store, settings.ledger_prefix)
        self.ledger = Ledger(self.store, settings.ledger_prefix, settings.each_generation)
        self.send, self.describe = send, describe_object
        self.budget_s = settings.flush_budget_s if budget_s is None else budget_s
        self.max_objects, self.page_size, self.workers = max_objects, page_size, workers

    def run(self) -> SweepReport:
        """One run; its record says how it ended (a run that raised: its error, and it raises on)."""
        report = SweepReport()
        started = clock.monotonic()
        try:
            report.carry(self.state.last())  # when the first sweep ran, when the last pass was complete
            self._run(report, started)
        except Exception as exc:
            report.failed(exc, secrets=(self.settings.hub_api_key,))
            raise
        finally:
            report.seconds = clock.monotonic() - started
            if report.complete:
                report.last_complete_at = clock.now()
            self._tell(report)
        return report

    def _run(self, report: SweepReport, started: float) -> None:
        s = self.settings
        prefixes = listing_prefixes(s)
        scope = scope_of(s, prefixes)
        cursor = self.state.cursor()
        if cursor.scope != scope:
            # What is listed changed (routes, filters): the pass under way starts again over the new
            # prefixes. The watermark stays: files created before it came while other rules held,
            # and were judged by those (their event came) or are `backfill`'s, as the files that were
            # in the bucket before the deploy; the new rules judge every file after it.
            cursor = cursor.rescoped(scope)
        if cursor.watermark is not None and cursor.watermark > (
                cursor.newest if cursor.newest is not None else clock.now()) - OVERLAP_S:
            # no complete pass sets it later than GCS's clock allows (the newest object listed, less
            # OVERLAP_S; this host's clock, which may run behind, only for a cursor without one): forged;
            # trusting it would leave every file "older": a pass anew from the floor
            log(logger, logging.WARNING, "the sweep's watermark is in the future: a fresh pass",
                watermark=cursor.watermark)
            cursor = Cursor(scope=scope, generation=cursor.generation, passes=cursor.passes, floor=cursor.floor)
        new_floor = cursor.floor is None or cursor.floor > clock.now()  # the first run (or a forged floor)
        if new_floor:
            cursor.floor = clock.now() - FLOOR_S
        if cursor.started is None:
            cursor.started, cursor.index, cursor.after, cursor.grace = clock.now(), 0, "", 0.0
            cursor.bound, cursor.judged_before = cursor.newest, None
        # The watermark allows for the largest grace any run of the pass left files young by (a
        # grace lowered mid-pass, or a CLI run with another): else those files fall below it unread.
        cursor.grace = max(cursor.grace, float(s.sweep_grace_s))
        # The floor is written at once, whatever this run does next: a run that waits for the flush or
        # fails saves nothing, and a floor set anew by a later run would pass the files of the meantime.
        if new_floor and not self._save(cursor, report):
            return
        before, why = sweep_waiting.cutoff(self.store, s.ledger_prefix, float(s.sweep_grace_s))
        if before is None:  # the flush is not taking messages: the files wait in the queue
            report.stopped = QUEUE_HOLDS
            log(logger, logging.INFO, f"the sweep waits: {why}")
            return
        cursor.judged(before)
        if cursor.index >= len(prefixes):
            cursor.index, cursor.after = len(prefixes), ""
        check_after = max(cursor.floor, cursor.watermark if cursor.watermark is not None else cursor.floor)
        bucket = self.storage.bucket(s.landing_bucket)
        saved_at = clock.monotonic()
        with ThreadPoolExecutor(self.workers) as pool:
            while cursor.index < len(prefixes):
                pages = bucket.list_blobs(prefix=prefixes[cursor.index] or None, start_offset=cursor.after or None,
                                          page_size=self.page_size, fields=FIELDS).pages
                for page in pages:
                    report.list_calls += 1
                    last = self._page(page, cursor, check_after, before, report, pool)
                    if last:
                        cursor.after = last
                    if clock.monotonic() - saved_at >= SAVE_EVERY_S:
                        if not self._save(cursor, report):
                            return
                        saved_at = clock.monotonic()
                    if clock.monotonic() - started >= self.budget_s:
                        report.stopped = "budget"
                    elif self.max_objects is not None and report.listed >= self.max_objects:
                        report.stopped = "objects"
                    if report.stopped:
                        self._save(cursor, report)
                        return
                cursor.index, cursor.after = cursor.index + 1, ""
        cursor.complete(OVERLAP_S)  # everything created before it began, less what was left for later
        report.complete = self._save(cursor, report)

    def _save(self, cursor: Cursor, report: SweepReport) -> bool:
        try:
            self.state.save(cursor)
            return True
        except ConflictError:
            report.stopped = "another sweep"  # it moved the cursor meanwhile: it goes on, this one stops
            return False

    def _page(self, page, cursor: Cursor, check_after: float, young_after: float, report: SweepReport,
              pool) -> str:
        """Judge one listing page; queue the missed, confirmed before it returns. Its last name."""
        candidates, last, after = [], "", cursor.after
        for blob in page:
            last = blob.name
            if blob.name == after:  # the listing starts at the name the cursor last did (inclusive)
                continue
            report.listed += 1
            ref = ObjectRef.from_blob(blob)
            created = created_at(ref)
            if created is not None:
                cursor.listed(created)
            if created is not None and created >= young_after:
                report.young += 1
            elif created is not None and created < check_after and not cursor.in_band(created):
                report.older += 1
            elif decide(ref, self.settings, resolve=False).destination is None:
                report.skipped += 1
            else:
                candidates.append(ref)
        futures: deque = deque()
        for ref, outcome in zip(candidates, pool.map(self._check, candidates)):
            report.ledger_reads += 1
            if outcome == "known":
                report.known += 1
            elif outcome == "skipped":
                report.skipped += 1
            else:
                futures.append((ref, outcome))
        for ref, future in futures:
            message_id = wait(future)  # PublishError: the run stops here, the cursor before this page
            report.queued += 1
            log(logger, logging.INFO, "queued by the sweep: its event never came", object=ref.uri,
                generation=ref.generation, message_id=message_id, source="sweep")
        return last

    def _check(self, ref: ObjectRef):
        """'known' (a ledger record), 'skipped' (the rules), or the future of its publish."""
        if known(self.ledger.read(ref), ref):
            return "known"
        message = self.describe(ref, self.settings, source="sweep")
        if message is None:
            return "skipped"
        self.state.mark_found(ref)  # before it is queued: trace can tell whatever follows
        return self.send(self.settings.topic_path, message)

    def _tell(self, report: SweepReport) -> None:
        level = logging.ERROR if report.error else logging.WARNING if report.queued else logging.INFO
        log(logger, level, "sweep done", **report.to_json())
        if report.queued:
            log(logger, logging.WARNING, f"the sweep queued {report.queued} file(s) whose event never came: events "
                "are being lost; check the trigger (Eventarc) and the ingest function's errors", queued=report.queued)
        try:
            self.state.record(report)
        except Exception as exc:  # noqa: BLE001 - the record is for status; the run itself is done
            log(logger, logging.WARNING, f"the sweep's record was not written: {type(exc).__name__}")


def sweep_once(settings: Settings, **kwargs) -> SweepReport:
    """One bounded sweep of the landing bucket (main.py `sweep`, the CLI's `sweep`)."""
    return Sweep(settings, **kwargs).run()
