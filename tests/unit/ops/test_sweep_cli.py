"""`hub-import sweep`: one sweep by hand, told in one line or as the JSON of docs/json/sweep.md;
`--dry-run` only beside `--deletions`. (No network: the buckets are in memory.)"""
from __future__ import annotations

import json
from types import SimpleNamespace

from hub_import.ingest import sweep as sweep_module
from hub_import.ops import cli
from hub_import.ops.sweep_cli import cmd_sweep, sweep_json, sweep_summary
from tests.unit.ingest.test_sweep import HOUR, Storage, make, record
from tests.unit.ops.test_json_schemas import holds


def swept_by_hand(monkeypatch, **bounds):
    """The CLI's sweep over 6 files, 2 of them with a ledger record, one younger than the grace."""
    settings, landing, store, publisher = make(5)
    landing.add("cams/new.jpg", age=HOUR / 360)  # 10 s old
    record(store, settings, "cams/00000.jpg")
    record(store, settings, "cams/00001.jpg")
    monkeypatch.setattr(sweep_module, "sweep_once", lambda s: sweep_module.Sweep(
        s, storage=Storage(landing), store=store, send=publisher.publish_message, **bounds).run())
    return settings, publisher


def test_sweep_json_holds_to_its_schema_and_counts_what_it_did(monkeypatch, capsys):
    settings, publisher = swept_by_hand(monkeypatch)
    assert cmd_sweep(settings, SimpleNamespace(deletions=False, dry_run=False, json=True)) == 0
    told = json.loads(capsys.readouterr().out)
    holds(told, "sweep.md", "sweep")
    assert (told["listed"], told["known"], told["queued"], told["young"]) == (6, 2, 3, 1)
    assert told["at"].endswith("Z") and told["complete"] is True and told["stopped"] is None
    assert len(publisher.sent) == 3


def test_sweep_in_one_line_says_events_are_lost_when_it_queued_any(monkeypatch, capsys):
    settings, _ = swept_by_hand(monkeypatch)
    assert cmd_sweep(settings, SimpleNamespace(deletions=False, dry_run=False, json=False)) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("sweep: 6 listed, 2 already known, 3 queued as missed, 1 younger than the grace")
    assert line.endswith("events are being lost: check the trigger (Eventarc) and the ingest function's errors")


def test_a_sweep_stopped_by_its_bound_says_the_pass_goes_on(monkeypatch):
    settings, landing, store, publisher = make(30)
    report = sweep_module.Sweep(settings, storage=Storage(landing), store=store, send=publisher.publish_message,
                                max_objects=10, page_size=10).run()
    line = sweep_summary(sweep_json(report))
    assert "stopped (objects): the pass goes on at the next sweep" in line
    assert sweep_json(report)["stopped"] == "objects"


def test_dry_run_is_refused_without_deletions_and_a_sweep_needs_the_landing_bucket(capsys):
    settings, *_ = make()
    assert cmd_sweep(settings, SimpleNamespace(deletions=False, dry_run=True, json=False)) == 2
    assert "--dry-run is for --deletions" in capsys.readouterr().err
    assert cmd_sweep(SimpleNamespace(landing_bucket=""), SimpleNamespace(deletions=False, dry_run=False,
                                                                         json=False)) == 2
    assert "needs LANDING_BUCKET" in capsys.readouterr().err


def test_the_cli_has_one_sweep_command_for_both(capsys):
    assert cli.main(["sweep", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--deletions" in out and "--dry-run" in out and "--json" in out
