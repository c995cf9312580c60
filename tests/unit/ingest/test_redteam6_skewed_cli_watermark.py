"""Red team 6: the watermark is this host's clock (`started`, clock.now()), and the CLI's `sweep`
shares the cursor with the scheduled one. OVERLAP_S (600 s) allows for that much skew, but the
CLI runs on whatever machine an operator has (a laptop, a VM whose clock keeps local time): one
manual `sweep` on a clock an hour ahead completes a pass and sets the watermark 40 minutes into
GCS's future. The scheduled sweep (a correct clock) then judges every file created in those 40
minutes "older" (checked by an earlier pass: it was not), and by the time its own pass has reset
the watermark, that watermark is already past them. A file uploaded minutes after the manual
sweep, whose event was lost, is never queued: lost for good, silently (no sweep says anything).

Suggested fix: take a pass's start from GCS's clock (the `updated` time of a document the sweep
writes when its pass begins, or the Date of a GCS answer), or refuse a watermark later than
`now - grace` and a pass whose host clock differs from GCS's by more than OVERLAP_S.
(No network: the fakes of tests/unit/ingest/test_sweep.py, a virtual clock.)
Fixed: the watermark is taken from GCS's clock (the newest object listed before the pass
began), never this host's."""
from __future__ import annotations



from hub_import.core import clock
from tests.unit.ingest.test_sweep import Clock, make, put, queued, sweep

REAL = 1_764_000_000.0  # GCS's clock (and the scheduled sweep's) when the operator runs `sweep`


def test_a_manual_sweep_on_a_clock_an_hour_ahead_does_not_hide_files_from_every_later_sweep():
    settings, landing, store, publisher = make(0)
    put(landing, "cams/old.jpg", REAL - 7200)
    # GIVEN an operator's `sweep` on a machine whose clock is an hour ahead (a complete pass)
    with clock.use(Clock(REAL + 3600)):
        assert sweep(settings, landing, store, publisher).complete
    # and a file uploaded five minutes later whose event was lost
    put(landing, "cams/lost.jpg", REAL + 300)
    # WHEN the scheduled sweep (a correct clock) runs, hour after hour (the default schedule)
    for at in (REAL + 3600, REAL + 7200, REAL + 10800, REAL + 86400):
        with clock.use(Clock(at)):
            assert sweep(settings, landing, store, publisher).complete
    # THEN it has queued the lost file
    assert "cams/lost.jpg" in queued(publisher)
