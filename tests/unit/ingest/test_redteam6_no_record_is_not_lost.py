"""Red team 6: the sweep takes "no ledger record" for "its event was lost", and with no watermark
(the first pass after the sweep is deployed, and every pass after the listing's scope changed) it
judges every object in the routed prefixes. But two kinds of file have no record and lost no event:
- files that were in the bucket before the product was deployed: README says they "raised no
  event" and that `backfill` (the operator's choice, with `--since` and `--dry-run`) queues them.
  Turning the sweep on (it is on by default, hourly; and on an upgrade to this version) queues
  every one of them, with no `--since`: a bucket's whole history goes into the Hub unasked;
- files the rules skipped when they came (their event did come): EXCLUDE_GLOBS, MAX_OBJECT_BYTES,
  ALLOWED_EXTENSIONS, SKIP_EMPTY are part of the scope, so relaxing one (raising MAX_OBJECT_BYTES,
  removing an exclusion) makes the next pass queue every file the old rules kept out, ever.
Each such run also logs the WARNING and fires the alert "events are being lost", and `trace` says
each of them "came in: by the sweep".

Suggested fix: give the sweep a floor it never looks below (objects created before it): when no
watermark is known, the time the sweep first ran (less Eventarc's 24 hours of retries), kept in
the cursor, or a SWEEP_SINCE setting; after a change of the rules, the old watermark less 24 h,
not none (files under a route added since are `backfill`'s, as README says of files that were there
before). (No network: the fakes of tests/unit/ingest/test_sweep.py.)
Fixed: the sweep never looks below a floor (its first run less a day, Eventarc's retries), and a change of
rules keeps the watermark."""
from __future__ import annotations

from datetime import timedelta

from hub_import.core.settings import load
from tests.unit.ingest.test_sweep import ENV, make, queued, record, sweep

YEAR = timedelta(days=365)


def test_turning_the_sweep_on_does_not_import_the_files_that_were_there_before_the_deploy():
    settings, landing, store, publisher = make(0)
    # GIVEN a bucket holding a year of files from before the deploy (the operator chose not to
    # backfill them, or backfilled only `--since` last week), and files the product imported since
    for i in range(5):
        landing.add(f"cams/archive/{i}.jpg", age=YEAR)
    for i in range(3):
        landing.add(f"cams/new/{i}.jpg", age=timedelta(days=2))
        record(store, settings, f"cams/new/{i}.jpg")
    # WHEN the sweep runs for the first time
    report = sweep(settings, landing, store, publisher)
    # THEN it queues none of them: their events were not lost, there were none
    assert queued(publisher) == [], f"{report.queued} files from before the deploy queued as 'events lost'"


def test_relaxing_a_filter_does_not_import_every_file_the_old_rules_skipped():
    # GIVEN a file the rules skipped when its event came (an exclusion), and a complete pass since
    settings, landing, store, publisher = make(0, EXCLUDE_GLOBS="**/*.tmp.jpg")
    landing.add("cams/big.tmp.jpg", age=timedelta(days=30))
    landing.add("cams/ok.jpg", age=timedelta(days=30))
    record(store, settings, "cams/ok.jpg")
    assert sweep(settings, landing, store, publisher).complete and queued(publisher) == []
    # WHEN the exclusion is dropped (for files to come) and the sweep runs
    relaxed = load({**ENV})
    sweep(relaxed, landing, store, publisher)
    # THEN the month-old file whose event came (and was skipped) is not queued as an event lost
    assert queued(publisher) == []
