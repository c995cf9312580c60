"""What the sweeps keep in the state bucket (hub_import/ingest/sweep.py), under LEDGER_PREFIX/sweep/KIND/:

    cursor.json   the pass under way and the last complete one:
                  {"scope": "<fingerprint of what is listed>", "watermark": float | null,
                   "pass": {"started": float, "index": int, "after": "<last name done>",
                            "grace": float (the largest SWEEP_GRACE_SECONDS of its runs),
                            "bound": float | null, "judged_before": float | null} | null,
                   "newest": float | null, "floor": float | null}
    last.json     the last sweep: {"at", "listed", "known", "queued", "list_calls", "ledger_reads",
                  "seconds", "complete", "error" (how it failed, null when it ran fine),
                  "last_complete_at" (when the last complete pass ended, null before the first),
                  "first_at" (when the first sweep ran)}: what `status` shows (the last two kept
                  from run to run: each run reads them from the last one's).
    found/<sha256(bucket/name)[:2]>/<sha256(bucket/name)>.json
                  {"object", "generation", "at"}: a file the sweep queued because no event had
                  brought it in (written before it is queued); what `trace` tells.

KIND is "objects" (files whose event was lost); a deletion sweep keeps its own beside it. The
cursor is written with a generation precondition: of two sweeps at once, the one whose write
fails stops (neither holds anything the flush needs).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

from hub_import.core import clock
from hub_import.core.objects import ObjectRef
from hub_import.core.text import cut_utf8

from .store import Doc, JsonStore

OBJECTS = "objects"
MAX_BANDS = 8  # unjudged bands kept across changes of scope (the oldest dropped past it)
QUEUE_HOLDS = "the queue holds them"  # a run that judged nothing: the flush is not taking messages (sweep_waiting.py)
ERROR_LIMIT = 300  # bytes (UTF-8) of a failed sweep's error kept in its record and its line


@dataclass
class Cursor:
    """The cursor document: `watermark` (objects created before it were checked by a complete
    pass over the same `scope`), and the pass under way, if any (`after`: the last name done in
    the `index`th listing prefix)."""

    scope: str = ""
    watermark: float | None = None
    started: float | None = None  # the pass under way (None: none)
    index: int = 0
    after: str = ""
    generation: int = 0  # of the document read (0: there was none)
    passes: int = 0  # complete passes so far
    grace: float = 0.0  # the largest grace the pass's runs judged "young" by (the watermark allows for it)
    # GCS's clock, not this host's: the newest timeCreated listed so far, and, for the pass under
    # way, what it was when the pass began (every object created before the pass began was listed
    # by it, and that one was created before it began) and the earliest moment after which a run of
    # the pass left files unjudged (young, or their message maybe waiting in the queue).
    newest: float | None = None
    bound: float | None = None
    judged_before: float | None = None
    floor: float | None = None  # nothing created before it is the sweep's: its first run less a day
    # (watermark, newest) when the scope in force began; and the bands of creation times the scopes
    # before it left unjudged, judged beside the watermark until a pass completes (Cursor.rescoped)
    began: tuple | None = None
    bands: list = field(default_factory=list)

    def to_json(self) -> dict:
        running = None if self.started is None else {"started": self.started, "index": self.index,
                                                     "after": self.after, "grace": self.grace, "bound": self.bound,
                                                     "judged_before": self.judged_before}
        return {"scope": self.scope, "watermark": self.watermark, "pass": running, "passes": self.passes,
                "newest": self.newest, "floor": self.floor, "began": list(self.began) if self.began else None,
                "bands": [list(b) for b in self.bands]}

    def rescoped(self, scope: str) -> "Cursor":
        """The cursor for a new scope (routes, filters): the pass under way starts again; the watermark,
        the newest object and the floor stay (files before the watermark came under the rules of
        their day: `backfill`'s). But the scope that ends may have moved the watermark over files only
        the rules before it took, that no pass had judged yet: those created between the watermark
        and the newest object when it began (a route taken out, then put back). That band, and those
        it inherited, are judged by the new scope's passes until one completes."""
        bands = list(self.bands)
        if self.scope and self.began is not None:
            bands.append(self.began)
        return Cursor(scope=scope, watermark=self.watermark, generation=self.generation, passes=self.passes,
                      newest=self.newest, floor=self.floor,
                      began=(self.watermark, self.newest) if self.scope else None,  # (the first scope: none before it)
                      bands=bands[-MAX_BANDS:])

    def in_band(self, created: float) -> bool:
        """Whether an object created then is in a band a scope before this one left unjudged."""
        return any((lo is None or created >= lo) and (hi is None or created <= hi) for lo, hi in self.bands)

    def judged(self, before: float) -> None:
        """A run of the pass judges only files created before `before`."""
        self.judged_before = before if self.judged_before is None else min(self.judged_before, before)

    def listed(self, created: float) -> None:
        self.newest = created if self.newest is None else max(self.newest, created)

    def complete(self, overlap_s: float) -> None:
        """The pass is done: the watermark moves to what it surely checked, less `overlap_s`.

        Every object created before the pass began was listed by it, and judged unless a run left it
        for later (judged_before). When the pass began is taken from GCS's clock (`bound`: the newest
        object listed before it), never this host's, which may run ahead (a laptop running the CLI):
        so with no listing before it (the first pass) the watermark stays where it was."""
        if self.bound is not None and self.judged_before is not None:
            self.watermark = min(self.bound, self.judged_before, self.started - self.grace) - overlap_s
        self.started, self.index, self.after, self.passes = None, 0, "", self.passes + 1
        self.bound = self.judged_before = None
        self.bands = []  # the pass judged them

    @classmethod
    def from_doc(cls, doc: Doc | None) -> "Cursor":
        """The cursor in `doc`; a document it cannot read (a field of the wrong type, a hand edit) is
        taken for none: a fresh pass with no watermark, always safe (it reads the ledger once for
        every object), never an error that would stop every later sweep."""
        if doc is None or not isinstance(doc.body, dict):
            return cls(generation=doc.generation if doc else 0)
        try:
            body, running = doc.body, doc.body.get("pass") or {}
            watermark = body.get("watermark")
            cursor = cls(scope=_text(body.get("scope")), watermark=_number(watermark),
                         started=_number(running.get("started")), index=_whole(running.get("index")),
                         after=_text(running.get("after")), generation=doc.generation,
                         passes=_whole(body.get("passes")), grace=_number(running.get("grace")) or 0.0,
                         newest=_number(body.get("newest")), bound=_number(running.get("bound")),
                         judged_before=_number(running.get("judged_before")), floor=_number(body.get("floor")),
                         began=_band(body.get("began")), bands=[_band(b) for b in _list(body.get("bands"))])
        except (TypeError, ValueError, AttributeError, OverflowError):
            return cls(generation=doc.generation)
        if running and cursor.started is None:  # a pass whose start is unknown: no watermark can follow it
            return cls(generation=doc.generation)
        return cursor


def _number(value) -> float | None:
    """A finite number, None when absent; ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(value)
    return float(value)


def _band(value) -> tuple | None:
    """(low, high) of numbers or None; ValueError for anything else."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(value)
    return _number(value[0]), _number(value[1])


def _list(value) -> list:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_BANDS:
        raise ValueError(value)
    return value


def _whole(value) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(value)
    return value


def _text(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(value)
    return value


@dataclass
class SweepRecord:
    """One sweep, as `status` shows it."""

    at: float = field(default_factory=clock.now)
    listed: int = 0
    known: int = 0
    queued: int = 0
    list_calls: int = 0
    ledger_reads: int = 0
    seconds: float = 0.0
    complete: bool = False
    error: str | None = None  # how the run failed ("<type>: <first line>", cut), None when it ran fine
    last_complete_at: float | None = None  # when the last complete pass ended (this run's, or kept from before)
    first_at: float | None = None  # when the first sweep ran (kept from run to run): a pass is overdue since

    def to_json(self) -> dict:
        return {"at": self.at, "listed": self.listed, "known": self.known, "queued": self.queued,
                "list_calls": self.list_calls, "ledger_reads": self.ledger_reads,
                "seconds": round(self.seconds, 2), "complete": self.complete, "error": self.error,
                "last_complete_at": self.last_complete_at, "first_at": self.first_at}

    def carry(self, previous: dict | None) -> None:
        """Keep what runs carry over from the last run's record (`previous`, last.json): when the first
        sweep ran and when the last complete pass ended. A record of an older version, without them,
        gives what it can (its time, and its end if it completed a pass); a value it cannot read, none."""
        previous = previous if isinstance(previous, dict) else {}
        self.first_at = _moment(previous.get("first_at")) or _moment(previous.get("at")) or self.at
        self.last_complete_at = _moment(previous.get("last_complete_at"))
        if self.last_complete_at is None and previous.get("complete") is True and _moment(previous.get("at")):
            self.last_complete_at = _moment(previous.get("at")) + (_moment(previous.get("seconds")) or 0.0)

    def failed(self, exc: BaseException, secrets=()) -> None:
        """Say how the run failed: the exception's type and the first line of its message, each of
        `secrets` (the API key, if the process holds one) taken out, cut to ERROR_LIMIT bytes of UTF-8."""
        text = next(iter(str(exc).strip().splitlines()), "")
        for secret in secrets:
            if secret:
                text = text.replace(secret, "[redacted]")
        self.error = cut_utf8(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, ERROR_LIMIT)


def _moment(value) -> float | None:
    """A finite, positive number of seconds, or None (absent, or not one)."""
    try:
        number = _number(value)
    except ValueError:
        return None
    return number if number is not None and number > 0 else None


class SweepState:
    def __init__(self, store: JsonStore, ledger_prefix: str, kind: str = OBJECTS):
        self.store, self.prefix = store, f"{ledger_prefix}sweep/{kind}/"

    def cursor(self) -> Cursor:
        return Cursor.from_doc(self.store.read(self.prefix + "cursor.json"))

    def save(self, cursor: Cursor) -> None:
        """Write `cursor` over the generation it was read at (ConflictError: another sweep moved it)."""
        cursor.generation = self.store.write(self.prefix + "cursor.json", cursor.to_json(),
                                             if_generation_match=cursor.generation)

    def record(self, record: SweepRecord) -> None:
        self.store.write(self.prefix + "last.json", record.to_json())

    def last(self) -> dict | None:
        doc = self.store.read(self.prefix + "last.json")
        return doc.body if doc is not None and isinstance(doc.body, dict) else None

    def _found_path(self, bucket: str, name: str) -> str:
        key = hashlib.sha256(f"{bucket}/{name}".encode()).hexdigest()
        return f"{self.prefix}found/{key[:2]}/{key}.json"

    def mark_found(self, ref: ObjectRef) -> None:
        self.store.write(self._found_path(ref.bucket, ref.name),
                         {"object": ref.uri, "generation": ref.generation, "at": clock.now()})

    def found(self, bucket: str, name: str) -> dict | None:
        doc = self.store.read(self._found_path(bucket, name))
        return doc.body if doc is not None and isinstance(doc.body, dict) else None


def last_sweep(settings, store: JsonStore) -> dict | None:
    """The last sweep's record (SweepRecord.to_json), or None when no sweep has run."""
    return SweepState(store, settings.ledger_prefix).last()


def sweep_line(last: dict) -> str:
    """The last sweep in one line, for `status` ("; FAILED: <error>" when it failed)."""
    at = clock.iso(float(last.get("at") or 0))
    queued = int(last.get("queued") or 0)
    missed = f"{queued} queued as missed" + (" (events are being lost: check the trigger)" if queued else "")
    return (f"last sweep: {at}, {last.get('listed', 0)} listed, {last.get('known', 0)} already known, {missed}, "
            f"{last.get('list_calls', 0)} list calls, {float(last.get('seconds') or 0):.1f} s"
            + ("" if last.get("complete") else "; it waits: the flush is not taking messages, so they may still be "
               "in the queue" if last.get("stopped") == QUEUE_HOLDS else "; the pass goes on at the next sweep")
            + (f"; FAILED: {last['error']}" if last.get("error") else ""))


def found_by_sweep(settings, store: JsonStore, bucket: str, name: str) -> dict | None:
    """{"object", "generation", "at"} when a sweep queued this object (its event never came), else None."""
    return SweepState(store, settings.ledger_prefix).found(bucket, name)
