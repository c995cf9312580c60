"""Red team 6: a cursor document whose fields are not what the sweep wrote (a person's hand edit,
a half-migrated format, a bad restore) makes `Cursor.from_doc` raise (int("x"), "pass" not an
object, an index of 1e400) on every run, before anything is listed: the sweep never runs again,
and files whose event was lost are never queued, until someone finds and deletes the document.
Nothing else of the sweep's own state (last.json, found/) can stop it so; a cursor it cannot read
should be one it starts a fresh pass over (no watermark: every object read from the ledger once),
which is always safe. (No network: the fakes of tests/unit/ingest/test_sweep.py.)"""
from __future__ import annotations

import pytest

from hub_import.state.sweep_state import SweepState
from tests.unit.ingest.test_sweep import make, queued, sweep


@pytest.mark.parametrize("body", [
    {"scope": "x", "watermark": None, "pass": {"started": 1.0, "index": "one", "after": ""}, "passes": 1},
    {"scope": "x", "watermark": None, "pass": ["started", 1.0], "passes": 1},
    {"scope": "x", "watermark": None, "pass": {"started": 1.0, "index": 1e400}, "passes": 1},
    {"scope": "x", "watermark": None, "pass": None, "passes": "three"},
])
def test_a_cursor_it_cannot_read_does_not_stop_every_later_sweep(body):
    settings, landing, store, publisher = make(3)
    state = SweepState(store, settings.ledger_prefix)
    store.write(state.prefix + "cursor.json", body)
    # WHEN the sweep runs, twice (the scheduler calls it again)
    for _ in range(2):
        report = sweep(settings, landing, store, publisher)
    # THEN it swept the bucket all the same: the three files whose event was lost are queued
    assert report.complete
    assert sorted(set(queued(publisher))) == sorted(landing.objects)


@pytest.mark.parametrize("watermark", [1e18, float("inf")])
def test_a_watermark_no_pass_could_have_set_is_not_trusted(watermark):
    # GIVEN a cursor whose watermark lies in the future (no complete pass on this clock sets one
    # later than now - grace - OVERLAP_S), and a file whose event was lost
    settings, landing, store, publisher = make(0)
    state = SweepState(store, settings.ledger_prefix)
    assert sweep(settings, landing, store, publisher).complete  # an empty bucket: the cursor written
    cursor = state.cursor()
    cursor.watermark = watermark
    state.save(cursor)
    landing.add("cams/00000.jpg")
    # WHEN the sweep runs on
    for _ in range(3):
        sweep(settings, landing, store, publisher)
    # THEN the file is queued
    assert set(queued(publisher)) == {"cams/00000.jpg"}  # (again each pass while no flush records it)
