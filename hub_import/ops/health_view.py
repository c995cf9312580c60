"""The health record (state/health.py) as a person reads it: one line that says whether the
pipeline is healthy or what holds it up, and the problems that need a person (`status --exit-code`).
`status` leads with the line; `trace` gives a queued file the record's reason."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from hub_import.core import clock
from hub_import.core.settings import Settings
from hub_import.flush.turn import sender_lease_s
from hub_import.state import health as record_

# The Hub silent for more flushes than this needs a person (a blip of a few minutes does not).
HUB_SILENT_FLUSHES = 5
STALE_MARGIN_S = 180  # beyond the longest a flush may hold the lease: no record that late means none ran
# What the last flush's record says, in one word (`status --json`: health.state).
STATES = ("healthy", "catching_up", "lease_held", "hub_silent", "rate_limited", "key_refused", "storage_waiting",
          "flush_failed", "landing_unset", "stale", "no_record")
HEALTHY = ("healthy", "catching_up", "lease_held")


@dataclass
class Health:
    """What the last flush's record says now: `line` (one line), `problems` (each needs a person),
    `waiting` (why files wait, or None), `record` (the record itself, or None)."""

    line: str
    state: str = "no_record"  # one word of STATES
    problems: list[str] = field(default_factory=list)
    waiting: str | None = None
    stale: bool = False
    record: dict | None = None

    def to_json(self) -> dict:
        return {"says": self.line, "state": self.state, "healthy": self.state in HEALTHY,
                "problems": list(self.problems), "stale": self.stale, "waiting_why": self.waiting,
                "record": self.record}


def stale_after_s(settings: Settings) -> float:
    """How old the last record may be before no flush is running: the longest a flush holds the lease
    (another one, finding it held, writes a record every minute meanwhile), and a margin."""
    return sender_lease_s(settings) + STALE_MARGIN_S


def short_time(t: str | float | None, now: float | None = None) -> str:
    """'18:02Z' today (within a day), '2026-12-01 18:02Z' before; '?' when unknown."""
    at = clock.epoch(t)
    if at is None:
        return "?"
    now = clock.now() if now is None else now
    moment = datetime.fromtimestamp(at, timezone.utc)
    return moment.strftime("%H:%MZ" if abs(now - at) < 86400 else "%Y-%m-%d %H:%MZ")


def age(seconds: float) -> str:
    """'14 min', '2 h 05 min', '40 s'."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def files_waiting(record: dict) -> str:
    """How many files wait in the queue, as well as the record knows."""
    if record.get("backlog") is not None:
        n = int(record["backlog"])
        return f"{n} file{'s' if n != 1 else ''} wait{'s' if n == 1 else ''} in the queue"
    if record.get("waiting_at_least"):
        return f"at least {record['waiting_at_least']} files wait in the queue"
    return f"how many files wait is unknown ({_unknown_why(record)})"


def _unknown_why(record: dict) -> str:
    says = str(record.get("backlog_says") or "unknown")
    return says.removeprefix("unknown: ").removeprefix("unknown") or "the backlog is not reported"


def judge(record: dict | None, settings: Settings, now: float | None = None) -> Health:
    """The health line of `record` (None: no flush has written one) at `now`."""
    now = clock.now() if now is None else now
    if record is None:
        return Health(f"no flush has run yet: no health record at gs://{settings.state_bucket}/"
                      f"{record_.path(settings.ledger_prefix)} (the scheduler calls the flush every minute)",
                      "no_record")
    at = clock.epoch(record.get("at")) or 0.0
    why = record.get("waiting_why")
    if now - at > stale_after_s(settings):
        line = (f"no flush has run for {age(now - at)} (the last at {short_time(at, now)}): check the scheduler "
                "and the flush function's logs")
        return Health(line, "stale", [line], why, True, record)
    silent = int(record.get("flushes_without_hub") or 0)
    if silent and record.get("hub_silent_since"):
        since, flushes = short_time(record["hub_silent_since"], now), f"{silent} flush{'es' if silent != 1 else ''}"
        why_ = str(why or "")
        if why_.startswith(record_.KEY_REFUSED):  # not an outage: a person must set the right key now
            line = (f"{record_.KEY_REFUSED} since {since} ({flushes}): set the right key (see `check`); "
                    f"{files_waiting(record)}")
            return Health(line, "key_refused", [line], why, False, record)
        limited = why_.startswith(record_.RATE_LIMITED)
        line = (f"the Hub rate-limits every flush since {since} ({flushes}); {files_waiting(record)}" if limited else
                f"the Hub has not answered since {since} ({flushes}); {files_waiting(record)}")
        return Health(line, "rate_limited" if limited else "hub_silent", [line] if silent > HUB_SILENT_FLUSHES else [],
                      why, False, record)
    if why and why.startswith((record_.STORAGE, record_.FLUSH_FAILED, record_.NO_LANDING)):
        failed = why.startswith(record_.FLUSH_FAILED)
        line = f"{why}; {files_waiting(record)}" if not failed else \
            f"the last flush failed ({short_time(at, now)}): {why.removeprefix(record_.FLUSH_FAILED + ': ')}"
        state = "flush_failed" if failed else "landing_unset" if why.startswith(record_.NO_LANDING) else \
            "storage_waiting"
        return Health(line, state, [line], why, False, record)
    if why and why.startswith(record_.LEASE_HELD):
        return Health(f"another flush is sending ({why.removeprefix(record_.LEASE_HELD + ': ')})", "lease_held", [],
                      why, False, record)
    if why or record.get("backlog"):
        return Health(f"healthy; catching up: {files_waiting(record)}", "catching_up", [], why, False, record)
    return Health("healthy", "healthy", [], None, False, record)


def queued_reason(health: Health) -> str | None:
    """Why a file the product has no trace of yet still waits in the queue, when the record says
    the flush cannot (or could not yet) take it; None when the last flush was healthy and caught up."""
    record, why = health.record or {}, health.waiting or ""
    if record.get("flushes_without_hub") and record.get("hub_silent_since"):
        return health.line.split(";")[0] + ": the flush pulls nothing until it does, then this file goes in"
    if health.stale or health.problems:
        return health.line
    if why.startswith((record_.BUDGET, record_.DEFERRED)) or record.get("backlog") or record.get("waiting_at_least"):
        return f"the flush is catching up ({files_waiting(record)}); this file goes in as it drains"
    if why.startswith(record_.LEASE_HELD):
        return f"{health.line}; this file goes in on one of the next flushes"
    return None
