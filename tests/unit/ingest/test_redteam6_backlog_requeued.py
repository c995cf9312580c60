"""Red team 6: the sweep takes "no ledger record, older than the grace" for "its event was lost".
But a file's record is written only when a flush claims it, and the flush may not claim for hours
while the events came and their messages wait in the subscription: the Hub down (the flush pulls
nothing while it does not answer), no storage integration yet ("waiting costs nothing"), a
backlog after a burst. Then every hourly sweep queues every file of the outage once more: the
queue the flush must drain when it comes back doubles (a sixth of each hour's files three times:
the OVERLAP_S band), each gets a found/ marker (`trace` then says it "came in: by the sweep",
though its event came), and every sweep logs the WARNING and fires the alert "events are being
lost: check the trigger", sending the on-call to Eventarc for an outage of the Hub.

Suggested fix: the subscription's oldest unacked message age (flush/backlog.py reads it from
Cloud Monitoring) bounds what is surely not waiting in the queue: judge only files older than
max(grace, oldest unacked age + a margin), or skip the run (saying why) while that age is
unknown or past the grace. (No network: the fakes of tests/unit/ingest/test_sweep.py, a virtual
clock.)"""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from hub_import.core import clock
from tests.unit.ingest.test_sweep import make, queued, sweep

T0 = 1_764_000_000.0  # the Hub stops answering; the flush pulls nothing from here on


class Clock:
    def __init__(self, t):
        self.t = t

    def time(self):
        return self.t

    def monotonic(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


@pytest.mark.xfail(strict=True, reason="red team 6: during a flush outage every file whose message waits in the "
                                       "queue is queued again by each sweep and reported as an event lost")
def test_files_whose_messages_wait_in_the_queue_are_not_queued_again_as_lost():
    settings, landing, store, publisher = make(0)
    # GIVEN a three-hour outage of the Hub: a file a minute uploaded, each event delivered and its
    # message waiting in the subscription (the flush pulls nothing, so no ledger record is written)
    for i in range(180):
        created = T0 + 60 * i
        landing.objects[f"cams/{i:04d}.jpg"] = SimpleNamespace(
            name=f"cams/{i:04d}.jpg", generation=int(created * 1e6), size=10, content_type="image/jpeg",
            md5_hash="", crc32c="", metadata={}, bucket=landing,
            time_created=datetime.fromtimestamp(created, timezone.utc))
    # WHEN the hourly sweeps run meanwhile
    reports = []
    for hour in (1, 2, 3):
        with clock.use(Clock(T0 + 3600 * hour)):
            reports.append(sweep(settings, landing, store, publisher))
    # THEN none of those files is queued again, nor reported as an event lost
    assert sum(r.queued for r in reports) == 0, (
        f"{len(queued(publisher))} messages queued again for {len(set(queued(publisher)))} files whose "
        f"messages wait in the queue")
