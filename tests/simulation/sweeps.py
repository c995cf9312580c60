"""The sweep in the simulation (hub_import/ingest/sweep.py `Sweep`, run unmodified): one bounded run
as a step, the sweeps that bring the world to rest, and the sweep's own invariants.

Each run gets a storage and a state store of its own that watch it (and change nothing): the rows
its listing served (name, generation, timeCreated), the cursor document it read (its watermark),
its ledger reads; and every message it queues is checked against the object's age when it goes out.

| invariant | what |
|---|---|
| sweep-grace | the sweep never queues an object younger than SWEEP_GRACE_SECONDS (its age when queued, on the simulated clock, from the judge's own record of when it landed) |
| sweep-rest | at rest, two more complete passes (time moved on past the grace and OVERLAP_S before each) queue nothing: every file is accounted for |
| sweep-reads | a run reads the ledger at most once per object its listing served that was created at or after the watermark of the cursor it read (every object served, on a first pass or a changed scope) |
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hub_import.core.messages import publish
from hub_import.core import clock
from hub_import.ingest import sweep_waiting
from hub_import.ingest.sweep import OVERLAP_S, Sweep, listing_prefixes, scope_of
from hub_import.state.store import JsonStore

from .clock import Crash

REST_RUNS = 40  # sweep runs a rest round may take to complete a pass (small pages, few objects)


@dataclass
class Run:
    """What one sweep run was seen doing."""
    name: str
    watermark: float | None = None  # of the cursor it read (None: a first pass, or the scope changed)
    cursor_read: bool = False
    rows: dict = field(default_factory=dict)  # (name, generation) -> timeCreated, served by its listing
    reads: int = 0  # ledger records read
    young: list = field(default_factory=list)  # (name, generation, age) queued younger than the grace
    outcome: str = ""

    def bound(self) -> int:
        return sum(1 for created in self.rows.values() if self.watermark is None or created >= self.watermark)


class _Rows:
    """The landing bucket as this run lists it: every row served is noted."""

    def __init__(self, bucket, run: Run):
        self._bucket, self._run = bucket, run
        self.name = bucket.name

    def list_blobs(self, **kwargs):
        listing, run = self._bucket.list_blobs(**kwargs), self._run

        class Watched:
            @property
            def pages(self):
                for page in listing.pages:
                    for blob in page:
                        run.rows[(blob.name, blob.generation)] = blob.time_created.timestamp()
                    yield page
        return Watched()

    def __getattr__(self, name):
        return getattr(self._bucket, name)


class _Storage:
    def __init__(self, world, run: Run):
        self._world, self._run = world, run

    def bucket(self, name: str):
        b = self._world.gcs.bucket(name)
        return _Rows(b, self._run) if name == self._world.settings.landing_bucket else b


class _Store(JsonStore):
    """The state bucket as this run reads it: its first cursor read and its ledger reads noted."""

    def __init__(self, world, run: Run):
        super().__init__(world.store.bucket)
        self._run, self._prefix = run, world.settings.ledger_prefix
        s = world.settings
        self._scope = scope_of(s, listing_prefixes(s))

    def read(self, path: str):
        doc = super().read(path)
        run = self._run
        if path == f"{self._prefix}sweep/objects/cursor.json":
            if not run.cursor_read:
                run.cursor_read = True
                body = doc.body if doc is not None and isinstance(doc.body, dict) else {}
                same = body.get("scope") == self._scope
                run.watermark = float(body["watermark"]) if same and isinstance(body.get("watermark"), (int, float)) \
                    else None
        elif path.startswith(self._prefix) and not path.startswith(f"{self._prefix}sweep/") \
                and path != f"{self._prefix}health.json":  # (the flush's record: one read a run)
            run.reads += 1
        return doc


def sweep(world, seed: int, page_size: int, max_objects: int | None, rates: dict | None = None,
          crash_at: int | None = None, name: str = "sweep"):
    """One bounded run of the real Sweep; its report, or None when it failed or was killed."""
    cursor = world.store.read(f"{world.settings.ledger_prefix}sweep/objects/cursor.json")
    if cursor is None or not isinstance(cursor.body, dict) or not cursor.body.get("pass"):
        world.pass_begins = world.clock.time()  # this run begins a pass (unless it fails first)
        world.pass_judged = float("inf")
    # what this run will judge (the product reads the same record at its start): files created before it
    before, _ = sweep_waiting.cutoff(world.store, world.settings.ledger_prefix, world.settings.sweep_grace_s,
                                  world.clock.time())
    world.pass_judged = min(world.pass_judged, float("-inf") if before is None else before)
    world.io.plan(seed, rates or {}, crash_at, name)
    run = Run(name)
    world.sweep_runs.append(run)
    grace = world.settings.sweep_grace_s

    def send(topic, message):
        ref = message.ref
        created = world.created.get((ref.name, ref.generation))
        if created is not None and world.clock.time() - created < grace:
            run.young.append((ref.name, ref.generation, round(world.clock.time() - created, 3)))
        return publish(topic, message)

    try:
        report = Sweep(world.settings, storage=_Storage(world, run), store=_Store(world, run), send=send,
                       max_objects=max_objects, page_size=page_size, workers=1).run()
        run.outcome = f"{name}: listed {report.listed} queued {report.queued} read {report.ledger_reads}" + \
            (" (pass complete)" if report.complete else f" (stopped: {report.stopped or 'page end'})")
        if report.complete and world.pass_begins is not None:  # it judged what was created before both
            world.pass_started = max(world.pass_started, min(world.pass_begins, world.pass_judged + grace))
        return report
    except Crash as crash:
        run.outcome = str(crash)
    except Exception as exc:  # noqa: BLE001 - the run fails (a 500); the next one goes on from the cursor
        run.outcome = f"{name} failed: {type(exc).__name__}: {exc}"
    finally:
        world.outcomes.append(run.outcome)
        world.io.quiet()
    return None


def flushed(world, seed: int) -> None:
    """A flush, when the last one is older than a few minutes: the scheduler runs one every minute,
    and the sweep reads its health record (ingest/sweep_waiting.py: none fresh, it waits)."""
    doc = world.store.read(f"{world.settings.ledger_prefix}health.json")
    at = clock.epoch(doc.body.get("at")) if doc is not None and isinstance(doc.body, dict) else None
    if at is None or world.clock.time() - at > 300.0:
        world.flush(seed, {}, None, name="flush before a sweep")


def owed(world) -> bool:
    """Whether the world needs a sweep to be at rest: no complete pass began once every live object
    was older than the grace."""
    newest = max((max(v.created, v.landed) for v in world.landing.objects.values()), default=None)
    return newest is not None and world.pass_started < newest + world.settings.sweep_grace_s


def rest(world, round_: int) -> None:
    """Sweep until a pass completes that began after the grace of every live object had passed."""
    page_size, max_objects = world.rest_sweep
    for i in range(REST_RUNS):
        if not owed(world):
            return
        newest = max(max(v.created, v.landed) for v in world.landing.objects.values())
        world.clock.advance(max(0.0, newest + world.settings.sweep_grace_s - world.clock.time()) + 1.0)
        flushed(world, 40_000 + round_ * 100 + i)
        sweep(world, 20_000 + round_ * 100 + i, page_size, max_objects, name="rest sweep")


def final(world) -> None:
    """The scheduled sweeps of a world at rest: two complete passes, each begun once time has moved on
    past the grace and OVERLAP_S (the second thus reads the ledger for no object: all are older than
    the first's watermark). What they queue is judged (sweep-rest)."""
    page_size, max_objects = world.rest_sweep
    for k in range(2):
        world.clock.advance(OVERLAP_S + world.settings.sweep_grace_s + 60.0)
        for i in range(REST_RUNS):
            flushed(world, 50_000 + k * 100 + i)
            first = len(world.sweep_runs)
            report = sweep(world, 30_000 + k * 100 + i, page_size, max_objects, name="final sweep")
            if report is not None and report.queued:
                world.final_queued.append((world.sweep_runs[first].outcome, report.queued))
            if report is not None and report.complete:
                break


def check(world) -> list:
    from .invariants import Violation

    out = [Violation("sweep-rest", f"a sweep of the world at rest queued {n} file(s): {what}")
           for what, n in world.final_queued]
    for run in world.sweep_runs:
        for name, generation, age in run.young:
            out.append(Violation("sweep-grace", f"{run.name} queued {name}#{generation} {age} s after it landed "
                                 f"(grace {world.settings.sweep_grace_s} s)"))
        if run.reads > run.bound():
            out.append(Violation("sweep-reads", f"{run.name} read the ledger {run.reads} times; its listing served "
                                 f"{run.bound()} objects created since its watermark {run.watermark}"))
    return out
