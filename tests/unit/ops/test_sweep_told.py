"""The sweep, told: `status` shows the last sweep and what it found, and `trace` of a file the
sweep brought in (its event lost) says so. (No network: the state bucket is a dict.)"""
from __future__ import annotations

from hub_import.core import clock
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import load
from hub_import.ops.status import status, status_table
from hub_import.ops.trace_report import render
from hub_import.state.sweep_state import QUEUE_HOLDS, SweepRecord, SweepState
from tests.unit.flush.test_flush_in_memory import ENV
from tests.unit.flush.test_result_messages import DictStore
from tests.unit.ops.test_status_owed import Subscriber
from tests.unit.ops.test_trace_deleted_generation import GoneBucket, no_dead_letters, traced  # noqa: F401

SETTINGS = load(ENV)


def test_status_shows_the_last_sweep_and_says_events_are_lost_when_it_queued_any():
    store = DictStore()
    assert "last sweep" not in status_table(status(SETTINGS, store, Subscriber()))  # none has run
    SweepState(store, SETTINGS.ledger_prefix).record(SweepRecord(at=1764000000.0, listed=1200, known=1160, queued=40,
                                                                 list_calls=2, ledger_reads=1200, seconds=3.25,
                                                                 complete=True))
    result = status(SETTINGS, store, Subscriber())
    assert result.to_json()["sweep"]["queued"] == 40
    assert result.to_json()["sweep"]["at"] == "2025-11-24T16:00:00Z"  # times ISO 8601 UTC, as all of status's JSON
    assert any("events are being lost" in p for p in result.problems())  # status --exit-code: 1
    [line] = [l for l in status_table(result).splitlines() if l.startswith("last sweep")]
    assert line == ("last sweep: 2025-11-24T16:00:00Z, 1200 listed, 1160 already known, 40 queued as missed "
                    "(events are being lost: check the trigger), 2 list calls, 3.2 s")


def test_a_sweep_that_ran_out_of_budget_says_its_pass_goes_on():
    store = DictStore()
    SweepState(store, SETTINGS.ledger_prefix).record(SweepRecord(listed=10, known=10, complete=False))
    line = [l for l in status_table(status(SETTINGS, store, Subscriber())).splitlines() if l.startswith("last sweep")]
    assert line[0].endswith("0 queued as missed, 0 list calls, 0.0 s; the pass goes on at the next sweep")
    assert not status(SETTINGS, store, Subscriber()).problems()  # a sweep that found nothing missed needs nobody


def test_trace_of_a_file_the_sweep_brought_in_says_so(no_dead_letters):  # noqa: F811
    store = DictStore()
    ref = ObjectRef("landing", "cams/c.png", 1764000000000007, size=200)
    assert "came in" not in render(traced(ENV, store))
    SweepState(store, SETTINGS.ledger_prefix).mark_found(ref)
    t = traced(ENV, store)
    assert t.swept["generation"] == ref.generation and t.to_json()["swept"]["object"] == ref.uri
    [line] = [l for l in render(t).splitlines() if "came in" in l]
    assert "by the sweep" in line and "its event never came" in line and str(ref.generation) in line


def test_a_sweep_that_waits_for_the_flush_says_so_and_is_not_called_stalled():
    store = DictStore()
    long_ago = clock.now() - 10 * 3600
    SweepState(store, SETTINGS.ledger_prefix).record(SweepRecord(complete=False))
    body = {**store.read(SETTINGS.ledger_prefix + "sweep/objects/last.json").body, "stopped": QUEUE_HOLDS,
            "first_at": long_ago}
    store.write(SETTINGS.ledger_prefix + "sweep/objects/last.json", body)
    result = status(SETTINGS, store, Subscriber())
    [line] = [l for l in status_table(result).splitlines() if l.startswith("last sweep")]
    assert line.endswith("; it waits: the flush is not taking messages, so they may still be in the queue")
    assert not [p for p in result.problems() if "sweep" in p]  # the outage is the flush's to tell
    # the same record without the wait is a stalled sweep
    store.write(SETTINGS.ledger_prefix + "sweep/objects/last.json", {**body, "stopped": "budget"})
    assert [p for p in status(SETTINGS, store, Subscriber()).problems() if "completed no pass" in p]
