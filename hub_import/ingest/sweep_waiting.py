"""Which files the sweep may judge now: not one whose message may still wait in the queue.

"No ledger record" means "its event was lost" only while the flush keeps up: a record is written
when a flush claims the file. While the Hub does not answer, no storage integration exists yet, or
a backlog drains, the events came and their messages wait in the subscription; a sweep that judged
those files would queue each one again, and say events are lost when they are not. So each run
reads the flush's health record (state/health.py, written by every flush) and judges only files
created before a cutoff:
- the flush healthy and caught up (nothing known to wait): SWEEP_GRACE_SECONDS ago;
- messages wait, and the oldest one's publish time is known: the grace before that (a file created
  earlier had its event published before the oldest message that still waits, so it is not
  waiting in the queue; the grace covers an event published late);
- messages wait and the oldest is not known, or the record is older than STALE_S (no flush runs):
  none at all; the run waits, saying why (`status` tells the outage itself); so too while a backlog
  drains and Cloud Monitoring does not say its oldest (the oldest message a flush deferred is not the
  queue's oldest). But a record whose
  backlog Cloud Monitoring sampled empty (0 messages) says no message published before that sample
  waits: the grace before it.
No record yet (no flush has run): the grace. The watermark never passes the cutoff of any run of a
pass (state/sweep_state.py Cursor.judged), so the files a run left alone are judged by a later pass.
"""
from __future__ import annotations

from hub_import.core import clock
from hub_import.state import health

STALE_S = 900.0  # a health record this old: the flush is not running (it runs every minute)
# The causes under which messages are known to wait (health.waiting_why starts with one). Not a
# lease held: that record's flush did nothing because another one is sending.
WAITING = (*(c for c in health.NOTHING_PULLED if c != health.LEASE_HELD), health.BUDGET, health.DEFERRED,
           health.FLUSH_FAILED)


def cutoff(store, ledger_prefix: str, grace_s: float, now: float | None = None) -> tuple[float | None, str]:
    """(judge only files created before this, why); (None, why) when the run should judge none."""
    now = clock.now() if now is None else now
    try:
        record = health.read(store, ledger_prefix)
    except Exception as exc:  # noqa: BLE001 - unknown: judge none this run, say why
        return None, f"the flush's health record could not be read ({type(exc).__name__})"
    young = now - grace_s
    if record is None:
        return young, ""
    at = clock.epoch(record.get("at"))
    if at is None or now - at > STALE_S:
        return None, "no flush has run for a while: the files wait in the queue (status says why)"
    why = str(record.get("waiting_why") or "")
    if not why.startswith(WAITING):
        return young, ""
    oldest, backlog = clock.epoch(record.get("oldest_waiting_published")), record.get("backlog")
    if oldest is None and type(backlog) is int and backlog == 0:
        # null is also what health.build writes when Cloud Monitoring says the queue is empty: then
        # nothing published before that sample waits (a flush that found the lease held says so often)
        oldest = clock.epoch(record.get("backlog_as_of"))
    if oldest is None or (backlog is None and why.startswith((health.BUDGET, health.DEFERRED))):
        # Not known; or Cloud Monitoring silent: the oldest is then the oldest message this flush
        # deferred, which bounds nothing about the messages it left unpulled or earlier flushes deferred
        return None, f"messages wait in the queue ({why.split(':')[0]}) and the oldest is not known"
    return min(young, oldest - grace_s), ""
