"""Red team 7: the flush's health record and the sweep read "oldest_waiting_published: null" two ways.
state/health.py writes null when Cloud Monitoring says the backlog is EMPTY (`oldest = ... if
backlog.messages else None`); ingest/sweep_waiting.py reads null, under a cause "known to wait"
(lease held, deferred, time budget spent), as "messages wait and the oldest is not known": the run
judges nothing. The commonest such record is a flush that found the lease held: Cloud Scheduler
starts a flush every minute, and a flush that runs longer than a minute (a few Hub calls, HOLD_S,
FLUSH_BUDGET_SECONDS 240) makes the next one find the lease held and write its record
("lease held ..."), though the backlog is empty and the flush holding the lease is draining it.

So a sweep that reads the record between that write and the end of the long flush waits. And the
phases lock: with flushes of 60 to 120 s the lease passes every other minute, and the hourly sweep
(60 minutes: an even number) starts at the same second of that two-minute cycle every time: if it
lands on the lease-held record once, it does every hour, for as long as the flushes last so. The
sweep then never judges a file: a file whose event was lost is never queued; its record says
"stopped: the queue holds them", which `status` does not call overdue ("unless it waits for the
flush"), while the flush is healthy: nothing tells anyone.

Suggested fix: tell "empty" from "unknown": health.build keeps the oldest as `now` (or a field
`backlog_empty`) when Monitoring says 0 messages, and sweep_waiting takes a fresh empty backlog for
"nothing waits"; and a flush that found the lease held (it pulled nothing and knows nothing new)
could keep the holder's verdict (the previous record's `waiting_why`), not overwrite it.
(No network: the real health.keep and the sweep over the fakes of tests/unit/ingest/test_sweep.py,
a virtual clock.)
Fixed (the first half): sweep_waiting takes a record whose backlog Cloud Monitoring sampled empty for
"nothing published before that sample waits" (the grace before it). A lease-held record with Monitoring
silent made a run wait too, fixed as suggested: a record of a flush that found the lease held is no
cause of waiting (another flush is sending)."""
from __future__ import annotations

import pytest

from hub_import.core import clock
from hub_import.flush.backlog import Backlog
from hub_import.flush.summary import Summary
from hub_import.state import health
from tests.unit.ingest.test_sweep import Clock, make, put, queued, record, sweep

T0 = 1_764_000_000.0  # a minute boundary, as Cloud Scheduler fires
DAY = 86400


EMPTY = "Cloud Monitoring: 0 messages"
SILENT = "Cloud Monitoring silent"


def backlog(kind: str, at: float) -> Backlog:
    if kind == EMPTY:
        return Backlog(messages=0, oldest_age_s=0, as_of=at - 120, says="Cloud Monitoring")
    return Backlog(says="unknown: Cloud Monitoring has no recent sample of the subscription")


@pytest.mark.parametrize("monitoring", [
    EMPTY,
    SILENT,  # a lease held is no cause of waiting (ingest/sweep_waiting.py WAITING)
])
def test_a_healthy_flush_whose_runs_overlap_does_not_stop_the_sweep_for_good(monitoring):
    settings, landing, store, publisher = make(0)
    # files every ten minutes, each brought in by its event; one whose event was lost
    for i in range(0, DAY // 600):
        created = T0 - 3 * 3600 + 600 * i
        put(landing, f"cams/{i:04d}.jpg", created)
        record(store, settings, f"cams/{i:04d}.jpg", generation=int(created * 1e6))
    put(landing, "cams/lost.jpg", T0 - 1800)
    # GIVEN a healthy flush, scheduled every minute, each run that takes the lease lasting 100 s
    # (the queue drained each time: Cloud Monitoring says 0 messages wait), the one started a minute
    # later finding the lease held; and the hourly sweep, 5 s after the minute
    events = []
    held_until = T0 - 60
    for minute in range(-1, DAY // 60):
        start = T0 + 60 * minute
        if start >= held_until:
            held_until = start + 100
            events.append((held_until, "flush", Summary(flush_id=f"f{minute}", pulled=4, sent=4, queue_empty=True,
                                                        seconds=100.0)))
        else:
            events.append((start + 1, "flush", Summary(flush_id=f"f{minute}", lease_held_by=f"f{minute - 1}")))
    events += [(T0 + 3600 * h + 5, "sweep", None) for h in range(0, DAY // 3600)]
    reports = []
    for at, kind, summary in sorted(events, key=lambda e: e[0]):
        with clock.use(Clock(at)):
            if kind == "flush":
                health.keep(store, settings.ledger_prefix, summary, backlog(monitoring, at))
            else:
                reports.append(sweep(settings, landing, store, publisher))
    # THEN within a day some sweep judged the files, and the one whose event was lost is queued
    assert "cams/lost.jpg" in queued(publisher), f"{len(reports)} sweeps: {sorted({r.stopped for r in reports})}"
