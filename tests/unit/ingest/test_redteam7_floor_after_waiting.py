"""Red team 7: the floor ("nothing created more than a day before the sweep's first run is the
sweep's") is set in memory by every run that finds none, but written to the cursor only by a run
that goes on to save it: a run that waits for the flush ("the queue holds them": no flush for
15 minutes, or messages waiting whose oldest is not known) returns before any save, and a run that
fails (the landing bucket's listing refused: a grant missing or removed by hand, a bucket policy)
raises before its first save.
So while a newly deployed sweep waits or fails, run after run, the floor keeps moving with the
clock: whenever the first run that saves comes, the floor is that run less a day, and every file
uploaded after the deploy but more than a day before that run is "older" than the floor, never
judged. A file among them whose event was lost is lost for good, silently: the alert "the sweep
fails" says "the next run resumes at its cursor", and status says of a waiting sweep that the files
"are judged once the flush catches up".

Suggested fix: write the floor when it is first set (save the cursor right there: one write, once),
or take it from the sweep's first run as last.json keeps it (`first_at`, carried from run to run).
(No network: the fakes of tests/unit/ingest/test_sweep.py, a virtual clock.)
Fixed: a run that sets the floor writes the cursor at once, before it waits or lists."""
from __future__ import annotations

import pytest

from hub_import.core import clock
from hub_import.state import health
from tests.unit.ingest.test_sweep import Clock, make, put, queued, sweep

T0 = 1_764_000_000.0  # the sweep is deployed; its first scheduled run
HOUR = 3600.0


@pytest.mark.parametrize("how", ["waits for the flush", "fails to list"])
def test_a_file_lost_while_the_new_sweep_waited_or_failed_is_found_once_it_runs(how):
    settings, landing, store, publisher = make(0)
    # GIVEN a file uploaded an hour after the deploy, its event lost
    put(landing, "cams/lost.jpg", T0 + HOUR)
    # WHEN for the first two days every hourly sweep waits (the flush's record stale: no flush runs,
    # the messages of the files whose events came wait in the queue) or fails (listing refused)
    listing = landing.list_blobs

    def refused(*args, **kwargs):
        raise PermissionError("403 storage.objects.list denied")
    for hour in range(0, 48):
        now = T0 + HOUR * hour
        with clock.use(Clock(now)):
            if how == "waits for the flush":
                store.write(health.path(settings.ledger_prefix), {"at": clock.iso(now - 3 * HOUR),
                                                                  "waiting_why": None})
                assert sweep(settings, landing, store, publisher).stopped == "the queue holds them"
            else:
                landing.list_blobs = refused
                with pytest.raises(PermissionError):
                    sweep(settings, landing, store, publisher)
                landing.list_blobs = listing
    # ... and then the flush runs again (its record fresh), or the grant is restored
    for hour in range(48, 72):
        now = T0 + HOUR * hour
        store.write(health.path(settings.ledger_prefix), {"at": clock.iso(now - 30), "waiting_why": None})
        with clock.use(Clock(now)):
            sweep(settings, landing, store, publisher)
    # THEN the file whose event was lost an hour after the deploy is queued
    assert "cams/lost.jpg" in queued(publisher)
