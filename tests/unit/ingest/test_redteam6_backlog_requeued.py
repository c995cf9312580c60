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
clock.)
Fixed: the sweep reads the flush's health record (ingest/sweep_waiting.py) and judges no file whose
message may wait in the queue."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from hub_import.core import clock
from hub_import.state import health
from tests.unit.ingest.test_sweep import Clock, make, queued, record, sweep

T0 = 1_764_000_000.0  # the Hub stops answering; the flush pulls nothing from here on


def flush_record(store, settings, now: float, waiting_why: str | None, oldest: float | None) -> None:
    """The health record a flush writes (state/health.py), as far as the sweep reads it."""
    store.write(health.path(settings.ledger_prefix), {"at": clock.iso(now), "waiting_why": waiting_why,
                                                      "oldest_waiting_published": clock.iso(oldest)})


@pytest.mark.parametrize("oldest_known", [False, True])
def test_files_whose_messages_wait_in_the_queue_are_not_queued_again_as_lost(oldest_known):
    settings, landing, store, publisher = make(0)
    # GIVEN a three-hour outage of the Hub: a file a minute uploaded, each event delivered and its
    # message waiting in the subscription (the flush pulls nothing, so no ledger record is written);
    # and one file whose event was lost
    def land(name, created):
        landing.objects[name] = SimpleNamespace(
            name=name, generation=int(created * 1e6), size=10, content_type="image/jpeg",
            md5_hash="", crc32c="", metadata={}, bucket=landing,
            time_created=datetime.fromtimestamp(created, timezone.utc))
    for i in range(180):
        land(f"cams/{i:04d}.jpg", T0 + 60 * i)
    land("cams/lost.jpg", T0 + 1800)
    # WHEN the hourly sweeps run meanwhile, the flush's record saying the Hub does not answer
    reports = []
    for hour in (1, 2, 3):
        now = T0 + 3600 * hour
        flush_record(store, settings, now - 30, f"{health.HUB_UNAVAILABLE}: 503", T0 if oldest_known else None)
        with clock.use(Clock(now)):
            reports.append(sweep(settings, landing, store, publisher))
    # THEN none of those files is queued again, nor reported as an event lost
    assert sum(r.queued for r in reports) == 0, (
        f"{len(queued(publisher))} messages queued again for {len(set(queued(publisher)))} files whose "
        f"messages wait in the queue")
    # AND once the Hub answers and the flush has drained the queue, the file whose event was lost is found
    for i in range(180):
        record(store, settings, f"cams/{i:04d}.jpg", generation=int((T0 + 60 * i) * 1e6))
    for hour in (4, 5, 6):
        now = T0 + 3600 * hour
        flush_record(store, settings, now - 30, None, None)
        with clock.use(Clock(now)):
            sweep(settings, landing, store, publisher)
    assert set(queued(publisher)) == {"cams/lost.jpg"}  # (each sweep, while no flush records it)
