"""Red team 6: SWEEP_GRACE_SECONDS is not part of the pass: each run judges "young" by its own
grace, and the run that completes the pass sets the watermark with its own grace
(`started - grace - OVERLAP_S`). A pass spans many runs on a large bucket; when the grace it
began with is larger than the one it ends with, the files the early runs left as young (created
within the larger grace of their listing) fall below the watermark the last run sets, and no
later pass reads them. Two ways in: the grace lowered between runs (a Terraform apply), and the
CLI's `sweep` finishing the scheduled sweep's pass in a shell whose SWEEP_GRACE_SECONDS is not the
function's (the default 600 beside a deployed 3600). A file whose event was lost in that band is
never queued.
Fix (here): the cursor's pass keeps the largest grace of its runs, and the watermark is set from it. (No network: the fakes of tests/unit/ingest/test_sweep.py,
a virtual clock.)"""
from __future__ import annotations


from hub_import.core import clock
from tests.unit.ingest.test_sweep import Clock, make, put, queued, record, sweep

T0 = 1_764_000_000.0


def test_files_left_young_under_a_larger_grace_are_judged_by_a_later_pass():
    deployed, landing, store, publisher = make(0, SWEEP_GRACE_SECONDS=3600)
    by_hand, _, _, _ = make(0, SWEEP_GRACE_SECONDS=600)
    # GIVEN a file uploaded 2000 s before the pass began, its event lost, and older files known
    put(landing, "cams/a-lost.jpg", T0 - 2000)
    for i in range(3):
        put(landing, f"cams/b{i}.jpg", T0 - 86400)
        record(store, deployed, f"cams/b{i}.jpg")
    # WHEN the scheduled sweep (grace 3600) begins a pass and stops after its first page ...
    with clock.use(Clock(T0)):
        first = sweep(deployed, landing, store, publisher, max_objects=1, page_size=1)
    assert first.young == 1 and first.stopped == "objects"
    # ... an operator's `sweep` (grace 600) finishes that pass ...
    with clock.use(Clock(T0 + 60)):
        assert sweep(by_hand, landing, store, publisher).complete
    # ... and the scheduled sweep runs on, hour after hour
    for hour in (1, 2, 24):
        with clock.use(Clock(T0 + 3600 * hour)):
            sweep(deployed, landing, store, publisher)
    # THEN the file left young is queued by some later pass
    assert "cams/a-lost.jpg" in queued(publisher)
