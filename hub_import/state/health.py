"""The flush's health record: one small document in the state bucket (`LEDGER_PREFIX/health.json`),
overwritten by every flush, that says what the last flush saw. `status` leads with it and `trace`
reads it, so that an outage, a missing storage integration or a flush that stopped running is told
by the product itself, not only by the flush's log.

What it holds (every time ISO 8601 UTC; docs/json/status.md describes each field):
- when the flush ran, and whether it failed;
- whether the Hub answered (null: not asked, e.g. another flush held the lease), since when it has
  not, and for how many flushes in a row (both carried from the record before);
- what the flush pulled, sent, deferred, failed and dead-lettered;
- what waits and why, and the publish time of the oldest message known to wait;
- the subscription's backlog where Cloud Monitoring reports it (flush/backlog.py), else null and why.

Writing it costs one read and one write per flush, and never fails the flush: a failure is logged.
"""
from __future__ import annotations

import logging

from hub_import.core import clock
from hub_import.core.logs import log

logger = logging.getLogger(__name__)

VERSION = 1
# Why nothing (or not everything) went in: the start of `waiting_why`, one word per cause.
HUB_UNAVAILABLE, RATE_LIMITED, KEY_REFUSED, STORAGE, LEASE_HELD, NO_LANDING, BUDGET, DEFERRED, FLUSH_FAILED = (
    "Hub unavailable", "rate limited by the Hub", "the Hub refuses the API key", "waiting for a Hub storage integration",
    "lease held", "LANDING_BUCKET is not set", "time budget spent", "deferred", "flush failed")
# The causes under which a flush pulls nothing: what waited before still waits.
NOTHING_PULLED = (HUB_UNAVAILABLE, RATE_LIMITED, KEY_REFUSED, STORAGE, LEASE_HELD, NO_LANDING)


def path(ledger_prefix: str) -> str:
    return f"{ledger_prefix}health.json"


def read(store, ledger_prefix: str) -> dict | None:
    """The last flush's record, or None when no flush has written one (or it cannot be read)."""
    doc = store.read(path(ledger_prefix))
    return doc.body if doc is not None and isinstance(doc.body, dict) else None


def hub_answered(summary, landing_known: bool) -> bool | None:
    """Whether the Hub answered this flush; None when the flush did not ask it."""
    if summary.hub_unavailable:
        return False
    if summary.lease_held_by or not landing_known or summary.error and not summary.pulled:
        return None
    return True


def waiting_why(summary, landing_known: bool) -> str | None:
    """Why files wait after this flush, starting with one of the causes above; None: nothing known waits."""
    if summary.lease_held_by:
        return f"{LEASE_HELD}: flush {summary.lease_held_by} is sending; this one did nothing"
    if not landing_known:
        return f"{NO_LANDING}: the flush pulls nothing until it is"
    if summary.hub_unavailable:
        said = summary.hub_unavailable
        cause = KEY_REFUSED if said.startswith(("401 ", "403 ")) else RATE_LIMITED if "429" in said else HUB_UNAVAILABLE
        return f"{cause}: {said[:300]}"
    if summary.storage_waiting:  # (the line of core/bucket_storage.py: no integration, or more than one)
        said = summary.storage_waiting
        return said if said.startswith(STORAGE) else f"{STORAGE}: {said}"
    if summary.error:
        return f"{FLUSH_FAILED}: {summary.error[:300]}"
    if summary.budget_exhausted:
        return f"{BUDGET}: the flush stopped pulling before the queue was empty"
    if summary.deferred:
        return f"{DEFERRED}: {summary.deferred} message(s) handed back for a later flush"
    return None


def build(summary, previous: dict | None, backlog, landing_known: bool = True) -> dict:
    """The record of the flush `summary` describes, carrying what lasts from `previous`. `backlog`:
    flush.backlog.Backlog."""
    previous = previous or {}
    now = clock.now()
    answered = hub_answered(summary, landing_known)
    if answered:
        silent_since, silent_flushes = None, 0
    elif answered is False:
        silent_since = previous.get("hub_silent_since") or clock.iso(now)
        silent_flushes = int(previous.get("flushes_without_hub") or 0) + 1
    else:  # not asked: as before
        silent_since, silent_flushes = previous.get("hub_silent_since"), int(previous.get("flushes_without_hub") or 0)
    why = waiting_why(summary, landing_known)
    pulled_nothing = why is not None and why.startswith(NOTHING_PULLED) and not summary.pulled
    # What is known to wait: what this flush handed back; when it could pull nothing, what waited before.
    known = summary.deferred or (int(previous.get("waiting_at_least") or 0) if pulled_nothing else 0)
    oldest = summary.oldest_deferred_published or (previous.get("oldest_waiting_published") if pulled_nothing
                                                   else None)
    if backlog.oldest_age_s is not None and backlog.as_of is not None:
        oldest = clock.iso(backlog.as_of - backlog.oldest_age_s) if backlog.messages else None
    return {
        "version": VERSION,
        "at": clock.iso(now),
        "flush_id": summary.flush_id,
        "seconds": float(summary.seconds),
        "error": summary.error or None,
        "hub_answered": answered,
        "hub_error": summary.hub_unavailable[:300] or None,
        "hub_silent_since": silent_since,
        "flushes_without_hub": silent_flushes,
        "pulled": summary.pulled,
        "sent": summary.sent,
        "found_in_hub": summary.found_in_hub,
        "deferred": summary.deferred,
        "failed": summary.failed,
        "dead_lettered": summary.dead_lettered,
        "waiting_why": why,
        "waiting_at_least": known,
        "oldest_waiting_published": oldest or None,
        "backlog": backlog.messages,
        "backlog_as_of": clock.iso(backlog.as_of),
        "backlog_says": backlog.says,
    }


def keep(store, ledger_prefix: str, summary, backlog, landing_known: bool = True) -> dict | None:
    """Write this flush's record over the last one; the record, or None when it could not be
    written (logged: a health record never fails the flush)."""
    try:
        previous = read(store, ledger_prefix)
        body = build(summary, previous, backlog, landing_known)
        store.write(path(ledger_prefix), body)
        return body
    except Exception as exc:  # noqa: BLE001 - whatever fails, the flush goes on
        log(logger, logging.WARNING, f"writing the health record failed; the next flush writes it again: "
            f"{type(exc).__name__}: {exc}", flush_id=getattr(summary, "flush_id", None))
        return None
