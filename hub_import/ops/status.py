"""`status`: what the import history says (`check`, whether every dependency can be reached, is check.py)."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from hub_import.core.settings import Settings
from hub_import.state.manifests import FAILED, PENDING, SENT
from hub_import.flush.dead_letters import UNCONFIRMED
from hub_import.state.held_deletions import HeldDeletions
from hub_import.core import clock
from hub_import.state import health
from hub_import.state.sweep_state import QUEUE_HOLDS

from .health_view import Health, judge
from .status_text import STATES, status_table  # noqa: F401 - status_table: the text, imported from here


@dataclass
class Status:
    manifests: Counter = field(default_factory=Counter)
    assets: Counter = field(default_factory=Counter)
    failed_assets: list = field(default_factory=list)
    oldest_pending: dict | None = None  # created_at: epoch seconds (ISO in to_json)
    dead_letter_backlog: int | None = 0  # None: not read (no dead-letter subscription)
    dead_letters_more: bool = False  # the backlog is at least dead_letter_backlog: more were not read
    dead_letters: list = field(default_factory=list)  # [{reason, count, example}], most frequent first
    dead_letters_unread: str = ""  # why the dead letters could not be read (dead_letter_backlog None)
    dead_letters_owed: int = 0  # rejected files whose dead letter Pub/Sub has not confirmed (their failed manifests)
    storage: dict | None = None  # HUB_STORAGE_ID empty: what the flush last found (ops/storages.py)
    held_deletions: int = 0  # deletions held past MAX_DELETIONS_PER_HOUR (ops/deletions.py)
    health: Health | None = None  # what the last flush's health record says (ops/health_view.py)
    last_import: dict | None = None  # the manifest last marked sent: {manifest, at (epoch seconds), assets}
    sweep: dict | None = None  # the last sweep (state/sweep_state.py; at: epoch seconds), None when none has run
    sweep_every_minutes: int | None = None  # SWEEP_EVERY_MINUTES (0: no scheduled sweep; None: not known)

    def problems(self) -> list[str]:
        """What needs a person (`status --exit-code` exits 1 when there is any), one line each."""
        found = list(self.health.problems) if self.health else []
        failed = self.manifests.get(FAILED, 0)
        if failed:
            found.append(f"{self.assets.get(FAILED, 0)} file(s) failed in {failed} manifest(s) "
                         "(fix the cause, then replay --failed)")
        if self.dead_letter_backlog:
            found.append(f"{self.dead_letter_backlog}{'+' if self.dead_letters_more else ''} dead letter(s) wait "
                         "(replay --dead-letters brings back what can go now)")
        if self.dead_letters_owed:
            found.append(f"{self.dead_letters_owed} dead letter(s) owed")
        if self.held_deletions:
            found.append(f"{self.held_deletions} deletion(s) held over MAX_DELETIONS_PER_HOUR "
                         "(deletions --approve, or --discard)")
        if self.sweep and self.sweep.get("queued"):
            found.append(f"the last sweep queued {self.sweep['queued']} file(s) whose event never came: events are "
                         "being lost (check the trigger)")
        return found + self._sweep_problems()

    def _sweep_problems(self) -> list[str]:
        """A scheduled sweep that failed, or that has completed no pass for longer than sweep_overdue_s
        allows (a pass that runs out of budget run after run, or fails): lost events go unfound."""
        if not self.sweep or self.sweep_every_minutes == 0:
            return []
        found = []
        if self.sweep.get("error"):
            found.append(f"the last sweep failed ({self.sweep['error']}): files whose event was lost are not being "
                         "found; check the sweep function's logs")
        every = self.sweep_every_minutes
        since = _moment(self.sweep.get("last_complete_at")) or _moment(self.sweep.get("first_at"))
        waits = self.sweep.get("stopped") == QUEUE_HOLDS  # for the flush (an outage status tells): not the sweep's
        if every and since is not None and clock.now() - since > sweep_overdue_s(every) and not waits:
            what = ("its last complete pass ended" if _moment(self.sweep.get("last_complete_at"))
                    else "it first ran, and none since")
            found.append(f"the sweep has completed no pass over the landing bucket for over "
                         f"{sweep_overdue_s(every) / 3600:g} h ({what} {clock.iso(since)}; SWEEP_EVERY_MINUTES="
                         f"{every}): files whose event was lost are not all being found; check the sweep "
                         "function's logs (each run failing, or stopping at its budget)")
        return found

    def headline(self) -> str:
        """The first line: the health record's, or, when it is healthy, what else needs a person."""
        line = self.health.line if self.health else "health unknown"
        others = [p for p in self.problems() if not self.health or p not in self.health.problems]
        if self.health and not self.health.problems and others:
            return "needs attention: " + "; ".join(others) + ("" if line == "healthy" else f" ({line})")
        return line

    def to_json(self) -> dict:
        """The schema of docs/json/status.md: numbers as numbers, times ISO 8601 UTC."""
        pending = self.oldest_pending
        record = self.health.record if self.health else None
        oldest_waiting = (record or {}).get("oldest_waiting_published")
        return {
            "health": {**(self.health or Health("health unknown")).to_json(),
                       "says": self.headline(), "problems": self.problems(), "needs_attention": bool(self.problems())},
            "backlog": {"messages": (record or {}).get("backlog"), "at_least": (record or {}).get("waiting_at_least"),
                        "says": (record or {}).get("backlog_says") or "unknown: no health record",
                        "as_of": (record or {}).get("backlog_as_of")},
            "oldest_waiting": {"published": oldest_waiting,
                               "age_seconds": _seconds_since(clock.epoch(oldest_waiting))} if oldest_waiting else None,
            "last_import": {**self.last_import, "at": clock.iso(self.last_import["at"]),
                            "age_seconds": _seconds_since(self.last_import["at"])} if self.last_import else None,
            "storage": {**self.storage, "since": clock.iso(self.storage.get("since")),
                        "at": clock.iso(self.storage.get("at"))} if self.storage else None,
            "manifests": {state: self.manifests.get(state, 0) for state in STATES},
            "assets": {state: self.assets.get(state, 0) for state in STATES},
            "failed_assets": self.failed_assets,
            "oldest_pending": {**pending, "created_at": clock.iso(pending["created_at"]),
                               "age_seconds": _seconds_since(pending["created_at"])} if pending else None,
            "dead_letter_backlog": self.dead_letter_backlog, "dead_letters_more": self.dead_letters_more,
            "dead_letters_unread": self.dead_letters_unread or None,
            "dead_letters": self.dead_letters, "dead_letters_owed": self.dead_letters_owed,
            "held_deletions": self.held_deletions,
            "sweep": self._sweep_json()}

    def _sweep_json(self) -> dict | None:
        """The last sweep's record, times ISO; `error` and `last_complete_at` null when it says none (or
        is of a version before them)."""
        if not self.sweep:
            return None
        error = self.sweep.get("error")
        told = {**self.sweep, "at": clock.iso(self.sweep.get("at")), "error": str(error) if error else None,
                "last_complete_at": clock.iso(_moment(self.sweep.get("last_complete_at")))}
        if "first_at" in told:
            told["first_at"] = clock.iso(_moment(told["first_at"]))
        if "stopped" in told:
            told["stopped"] = told["stopped"] or None
        return told


def status(settings: Settings, store, subscriber, since: datetime | None = None, max_failed: int = 50) -> Status:
    """The last flush's health, manifests by state, assets sent and failed (with the Hub's reasons),
    the oldest pending manifest, the last import, and the messages waiting on the dead-letter
    subscription, counted by reason."""
    from hub_import.state.sweep_state import last_sweep

    from .storages import last_found

    result = Status(storage=last_found(settings, store), health=judge(health.read(store, settings.ledger_prefix),
                                                                      settings), sweep=last_sweep(settings, store),
                    sweep_every_minutes=settings.sweep_every_minutes)
    prefix = settings.manifest_prefix
    start = prefix + since.strftime("%Y/%m/%d") if since else prefix
    for name in store.list(prefix):
        if not name.endswith(".state.json") or name < start:
            continue
        doc = store.read(name)
        if doc is None:
            continue
        body = doc.body
        state = body.get("state", "?")
        if state == FAILED and body.get("replayed_as"):
            state = "failed, replayed"
        if state == PENDING and body.get("uncertain_since") is not None:
            state = "pending, settling"  # an import's answer was lost: the Hub is asked after the settle time
        result.manifests[state] += 1
        n = len(body.get("objects", []))
        result.assets[state] += n
        if state == SENT:
            at = float(body.get("updated_at") or body.get("created_at") or 0)
            if result.last_import is None or at > result.last_import["at"]:
                result.last_import = {"manifest": name.removesuffix(".state.json") + ".json", "at": at, "assets": n}
        if state == FAILED:
            result.dead_letters_owed += len(body.get(UNCONFIRMED) or ())
        if state == FAILED and len(result.failed_assets) < max_failed:
            for obj in body.get("objects", [])[: max_failed - len(result.failed_assets)]:
                result.failed_assets.append({"object": f"gs://{obj['bucket']}/{obj['name']}",
                                             "manifest": name.removesuffix(".state.json") + ".json",
                                             "reason": body.get("error")})
        if state in (PENDING, "pending, settling"):
            created = float(body.get("created_at", clock.now()))
            if result.oldest_pending is None or created < result.oldest_pending["created_at"]:
                result.oldest_pending = {"manifest": name.removesuffix(".state.json") + ".json",
                                         "created_at": created, "assets": n, "attempts": body.get("attempts", 0),
                                         "error": body.get("error")}
    result.dead_letter_backlog, result.dead_letters_more, result.dead_letters = _peek_dead_letters(subscriber, settings)
    if result.dead_letter_backlog is None:
        from .dead_letter_inbox import subscription_path
        result.dead_letters_unread = f"no subscription {subscription_path(settings)}"
    result.held_deletions = sum(1 for _ in HeldDeletions(store, settings.ledger_prefix).paths())
    return result


def sweep_overdue_s(every_minutes: int) -> float:
    """How long a scheduled sweep may go without a complete pass before status flags it: three
    periods and an hour (a pass may take a few runs; a run may be missed)."""
    return (3 * every_minutes + 60) * 60.0


def _moment(value) -> float | None:
    """Epoch seconds from a record, or None (absent, or not a finite positive number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        return None
    return float(value)


def _seconds_since(at: float | None) -> int | None:
    return None if at is None else max(0, int(clock.now() - at))


def _peek_dead_letters(subscriber, settings: Settings, limit: int = 1000) -> tuple[int | None, bool, list]:
    """How many messages wait on the dead-letter subscription (up to `limit`; None when there is no
    such subscription), whether there are more, and why, each handed straight back for others to read."""
    from google.api_core import exceptions

    from hub_import.flush.dead_letters import unwrap

    from .dead_letter_inbox import pull, release, subscription_path

    subscription = subscription_path(settings)
    try:
        received = pull(subscriber, subscription, limit)
    except exceptions.NotFound:
        return None, False, []
    reasons: Counter = Counter()
    examples: dict[str, str] = {}
    for r in received:
        letter = unwrap(r)
        reason = letter.reason if len(letter.reason) <= 300 else letter.reason[:300] + "..."
        reasons[reason] += 1
        examples.setdefault(reason, letter.object)
    release(subscriber, subscription, [r.ack_id for r in received])
    return len(received), len(received) >= limit, [{"reason": r, "count": n, "example": examples[r]}
                                                   for r, n in reasons.most_common()]
