"""Red team 7: when Cloud Monitoring does not say (a timeout of its 5 s call, no recent sample, the
grant missing), the health record's "oldest waiting" is the oldest message THIS flush handed back
(`oldest_deferred_published`), and sweep_waiting takes it for the oldest message in the queue: it
judges every file created more than a grace before it. But it is not the queue's oldest: a flush that
spent its budget left messages unpulled, and Pub/Sub delivers in no order (after a backlog a pull
mixes old and new); and messages deferred by earlier flushes are out of sight for their deferral
and backoff (up to 600 s), so no pull of this flush saw them. Each of those files waits in the
queue with no ledger record (claims are given back when deferred), and the sweep queues it again:
a second message per file, a found/ marker (`trace`: "came in: by the sweep"), and the WARNING
and alert "events are being lost: check the trigger" for a backlog, as red team 6 showed (the fix
holds only while Monitoring answers).

Suggested fix: a deferral or a spent budget bounds nothing about the rest of the queue: take
`oldest_deferred_published` as the oldest only when the flush also emptied the queue (queue_empty)
and deferred nothing in the last DEFER_S + 600 s; otherwise, with Monitoring silent, the oldest is
unknown (the run waits).
(No network: the real health.keep and the sweep over the fakes of tests/unit/ingest/test_sweep.py.)
Fixed: with Cloud Monitoring silent, a record of a spent budget or deferrals makes the sweep wait."""
from __future__ import annotations


from hub_import.core import clock
from hub_import.flush.backlog import Backlog
from hub_import.flush.summary import Summary
from hub_import.state import health
from tests.unit.ingest.test_sweep import Clock, make, put, sweep

T0 = 1_764_000_000.0


def test_files_whose_messages_wait_unpulled_are_not_queued_again_as_lost():
    settings, landing, store, publisher = make(0)
    # GIVEN a backlog: 50 files uploaded two hours ago, their events came, their messages not yet pulled
    for i in range(50):
        put(landing, f"cams/backlog/{i:03d}.jpg", T0 - 7200 + 10 * i)
    # and a flush that pulled a newer message (Pub/Sub's order is none), ran out of time and deferred
    # it (its claim given back), while Cloud Monitoring did not answer
    put(landing, "cams/new.jpg", T0 - 60)
    with clock.use(Clock(T0)):
        health.keep(store, settings.ledger_prefix,
                    Summary(flush_id="f1", pulled=1, deferred=1, budget_exhausted=True,
                            oldest_deferred_published=clock.iso(T0 - 55), seconds=240.0),
                    Backlog(says="unknown: Cloud Monitoring did not say (Timeout: read timed out)"))
    # WHEN the hourly sweep runs a minute later
    with clock.use(Clock(T0 + 60)):
        report = sweep(settings, landing, store, publisher)
    # THEN it queues none of the files whose messages wait in the queue, nor says events are lost
    assert report.queued == 0, f"{report.queued} files of the backlog queued again as 'events lost'"
