"""Red team 7: the watermark is now taken from GCS's clock (no complete pass sets it later than
`newest - OVERLAP_S`), but the guard red team 6 added still judges it by the host's clock: a watermark
later than `now - OVERLAP_S` is "forged, or a clock far ahead" and the cursor is reset (no watermark,
no `newest`). So one `hub-import sweep` from a machine whose clock is an hour or more BEHIND (a VM
keeping local time west of UTC, a laptop with a stale clock) throws the watermark away: the next two
passes read the ledger for every object since the floor (the sweep's first run less a day: the whole
bucket since the deploy; at 10M objects, 10M reads), and judge every one of them by today's rules. A
file those rules take that earlier rules skipped when its event came (an exclusion since dropped, a
raised MAX_OBJECT_BYTES) is queued "as lost": imported unasked, with the alert "events are being
lost", the very thing red team 6's "a change of rules keeps the watermark" was to prevent.

Suggested fix: a watermark can only be wrong against GCS's clock now: distrust it only when it is
later than `newest - OVERLAP_S` (every complete pass sets it at or below that), or, with no `newest`
(a cursor of an older version), than `now - OVERLAP_S`. A host behind only judges fewer files
"young"-side (its cutoff is lower), which is safe.
(No network: the fakes of tests/unit/ingest/test_sweep.py, a virtual clock.)
Fixed: a watermark is distrusted only when later than `newest - OVERLAP_S` (GCS's clock); by this
host's clock only in a cursor without `newest`."""
from __future__ import annotations

from hub_import.core import clock
from hub_import.core.settings import load
from tests.unit.ingest.test_sweep import ENV, Clock, make, put, queued, record, sweep

T0 = 1_764_000_000.0  # the sweep's first run
HOUR = 3600.0


def test_a_sweep_on_a_clock_behind_does_not_requeue_what_earlier_rules_skipped():
    settings, landing, store, publisher = make(0, EXCLUDE_GLOBS="**/*.tmp.jpg")
    relaxed = load({**ENV})
    # files every hour for five days, each brought in by its event; and one the exclusion skipped
    for i in range(0, 5 * 24):
        put(landing, f"cams/{i:04d}.jpg", T0 + HOUR * i)
        record(store, settings, f"cams/{i:04d}.jpg", generation=int((T0 + HOUR * i) * 1e6))
    put(landing, "cams/scratch.tmp.jpg", T0 + 2 * HOUR)
    # GIVEN the hourly sweep for three days; then the exclusion dropped (for files to come), the
    # sweep running on under the relaxed rules for a day (the watermark kept: nothing queued)
    for hour in range(0, 4 * 24):
        with clock.use(Clock(T0 + HOUR * hour)):
            assert sweep(settings if hour < 3 * 24 else relaxed, landing, store, publisher).complete
    assert queued(publisher) == []
    # WHEN an operator runs `hub-import sweep` on a machine whose clock is three hours behind
    now = T0 + 4 * 24 * HOUR + 1800
    with clock.use(Clock(now - 3 * HOUR)):
        sweep(relaxed, landing, store, publisher)
    # ... and the scheduled sweep runs on
    for hour in range(4 * 24 + 1, 5 * 24):
        with clock.use(Clock(T0 + HOUR * hour)):
            sweep(relaxed, landing, store, publisher)
    # THEN the file the rules skipped when its event came is not queued as an event lost
    assert queued(publisher) == []
