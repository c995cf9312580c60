"""Red team 7: a change of scope keeps the watermark ("files before it came while other rules held ...
or are backfill's"), but passes under NARROWER rules move it too, over files that only the wider
rules take and that no pass has judged. A route taken out for a while (or an exclusion added), then
put back: the files of that route that landed in the hour or two before it was taken out (newer than
the watermark then: a pass judges a file only an hour or more after it lands) were uploaded while
their route stood, and their event, had it come, would have imported them. But the passes of the
narrow rules, which do not list or judge them, move the watermark past them; when the route is back,
the kept watermark says "checked by an earlier pass": a file among them whose event was lost is
never queued. Lost for good, silently. The same happens with no change to the deployment at all
when an operator runs `hub-import sweep` from a shell whose settings are narrower than the
function's (an old HUB_ROUTES, `--set INCLUDE_GLOBS=cams/**` to hurry one prefix): its pass moves
the watermark the scheduled sweep shares.

Suggested fix: a pass moves the watermark only for the rules it judged by. E.g. on a change of scope,
keep in the cursor the band the ending scope never judged for the rules before it: from the watermark
in force when it began to `newest` then (GCS's clock, when it began); the passes of the next scope
judge the files created in that band as well as those after the watermark, and files that came while
the narrow rules held stay `backfill`'s, as README says. (Going back to the older watermark outright
would also queue those, and a chain of changes would go back further each time.)
(No network: the fakes of tests/unit/ingest/test_sweep.py, a virtual clock.)
Fixed as suggested: Cursor.rescoped keeps the bands the ending scope left unjudged."""
from __future__ import annotations

from hub_import.core import clock
from hub_import.core.settings import load
from tests.unit.ingest.test_sweep import ENV, Clock, put, queued, record, sweep
from tests.unit.ingest.test_sweep import make as make_sweep

T0 = 1_764_000_000.0
HOUR = 3600.0
BOTH = '[{"prefix": "a/", "project": "p"}, {"prefix": "b/", "project": "p"}]'
ONLY_A = '[{"prefix": "a/", "project": "p"}]'


def test_a_file_of_a_route_taken_out_and_put_back_is_judged_when_it_is_back():
    wide, landing, store, publisher = make_sweep(0, HUB_PROJECT_ID="", HUB_ROUTES=BOTH)
    narrow = load({**ENV, "HUB_PROJECT_ID": "", "HUB_ROUTES": ONLY_A})
    # a file every ten minutes under a/, each brought in by its event (a ledger record)
    for i in range(0, 12 * 6):
        put(landing, f"a/{i:04d}.jpg", T0 + 600 * i)
        record(store, wide, f"a/{i:04d}.jpg", generation=int((T0 + 600 * i) * 1e6))
    # GIVEN the hourly sweep under both routes (passes complete, the watermark set)
    for hour in range(0, 4):
        with clock.use(Clock(T0 + HOUR * hour)):
            assert sweep(wide, landing, store, publisher).complete
    # and a file under b/ uploaded five minutes before route b/ is taken out, its event lost
    put(landing, "b/lost.jpg", T0 + 4 * HOUR - 300)
    # WHEN route b/ is out for four hours (the sweep runs hourly under a/ alone) ...
    for hour in range(4, 8):
        with clock.use(Clock(T0 + HOUR * hour)):
            assert sweep(narrow, landing, store, publisher).complete
    # ... and is put back, the sweep running on under both for a day
    for hour in range(8, 32):
        with clock.use(Clock(T0 + HOUR * hour)):
            sweep(wide, landing, store, publisher)
    # THEN the file uploaded under b/ while its route stood, whose event was lost, is queued
    assert "b/lost.jpg" in queued(publisher)
