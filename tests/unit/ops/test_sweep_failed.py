"""A sweep that fails, or never completes a pass, is seen (red team 6): each run's record (last.json)
says how it ended (`error`) and when the last complete pass ended (`last_complete_at`, kept from run
to run); its "sweep done" line is logged at ERROR with the error; `status` flags a failed sweep and
one with no complete pass for longer than 3 x SWEEP_EVERY_MINUTES + 1 hour, and stops flagging once
a run goes well. (No network: the fakes of tests/unit/ingest/test_sweep.py.)"""
from __future__ import annotations

import json
import logging

import pytest

from hub_import.core import clock
from hub_import.core.messages import PublishError
from hub_import.ops.status import status, status_table, sweep_overdue_s
from hub_import.state.sweep_state import last_sweep
from tests.unit.flush.test_deletions_listing import VirtualClock
from tests.unit.ingest.test_sweep import Landing, make, record, sweep
from tests.unit.ops.test_json_schemas import holds
from tests.unit.ops.test_redteam6_failing_sweep_unseen import NoPublisher
from tests.unit.ops.test_status_owed import Subscriber

HOUR = 3600.0


def sweep_problems(settings, store) -> list[str]:
    return [p for p in status(settings, store, Subscriber()).problems() if "sweep" in p]


def failing(settings, landing, store, runs: int = 1):
    for _ in range(runs):
        with pytest.raises(PublishError):
            sweep(settings, landing, store, NoPublisher())


def test_a_failed_run_records_and_logs_its_error_and_status_says_so(caplog):
    settings, landing, store, _ = make(3)
    with caplog.at_level(logging.INFO, logger="hub_import.ingest.sweep"):
        failing(settings, landing, store)
    [done] = [r for r in caplog.records if r.getMessage() == "sweep done"]
    assert done.levelno == logging.ERROR
    error = done.fields["error"]
    assert error.startswith("PublishError: Pub/Sub did not confirm the message: RuntimeError: 403 User not authorized")
    last = last_sweep(settings, store)
    assert last["error"] == error and last["complete"] is False and last["queued"] == 0
    assert last["last_complete_at"] is None and last["first_at"] == last["at"]
    result = status(settings, store, Subscriber())
    assert (f"the last sweep failed ({error}): files whose event was lost are not being found; check the sweep "
            "function's logs") in result.problems()
    assert result.headline().startswith("needs attention: the last sweep failed (PublishError: ")
    [line] = [l for l in status_table(result).splitlines() if l.startswith("last sweep")]
    assert line.endswith(f"; the pass goes on at the next sweep; FAILED: {error}")
    told = result.to_json()
    holds(told, "status.md")
    assert told["sweep"]["error"] == error and told["sweep"]["last_complete_at"] is None


class Refusing(Landing):
    """A landing bucket the sweep's account may not list (storage.objects.list taken away)."""

    refuse = True

    def list_blobs(self, *args, **kwargs):
        if self.refuse:
            raise PermissionError("403 GET https://storage.googleapis.com/storage/v1/b/landing/o: sweep@p.iam."
                                  "gserviceaccount.com does not have storage.objects.list access")
        return super().list_blobs(*args, **kwargs)


def known_files(n: int):
    settings, _, store, publisher = make(0)
    landing = Refusing()
    for i in range(n):
        landing.add(f"cams/{i:05d}.jpg")
        record(store, settings, f"cams/{i:05d}.jpg")  # their events came: a good run queues none
    return settings, landing, store, publisher


def test_a_sweep_that_recovers_needs_nobody_and_its_last_complete_pass_is_kept(caplog):
    with clock.use(VirtualClock()) as now:
        settings, landing, store, publisher = known_files(3)
        for _ in range(3):
            with pytest.raises(PermissionError):
                sweep(settings, landing, store, publisher)
        [problem] = sweep_problems(settings, store)
        assert problem.startswith("the last sweep failed (PermissionError: 403 GET ")
        now.t += 600
        landing.refuse = False  # the grant is back
        report = sweep(settings, landing, store, publisher)
        assert report.complete and report.error is None and report.last_complete_at == now.t
        assert sweep_problems(settings, store) == []
        told = status(settings, store, Subscriber()).to_json()
        holds(told, "status.md")
        assert told["sweep"]["error"] is None and told["sweep"]["last_complete_at"] == clock.iso(now.t)
        completed, first = now.t, last_sweep(settings, store)["first_at"]
        # a later failure keeps when the last pass was complete, and when the first sweep ran
        now.t += 600
        landing.refuse = True
        with pytest.raises(PermissionError):
            sweep(settings, landing, store, publisher)
        last = last_sweep(settings, store)
        assert last["last_complete_at"] == completed and last["first_at"] == first and last["error"]
        now.t += 600
        landing.refuse = False
        sweep(settings, landing, store, publisher)
        assert sweep_problems(settings, store) == []


def test_a_pass_that_never_completes_is_flagged_once_overdue():
    with clock.use(VirtualClock()) as now:
        settings, landing, store, publisher = known_files(30)
        landing.refuse = False
        assert settings.sweep_every_minutes == 60 and sweep_overdue_s(60) == 4 * HOUR
        # every run stops at its bound (no error), and a pass never completes
        for _ in range(4):
            report = sweep(settings, landing, store, publisher, max_objects=2, page_size=2)
            assert report.stopped == "objects" and not report.complete and report.error is None
            now.t += HOUR - 1
        assert sweep_problems(settings, store) == []  # under 4 hours since the first sweep
        now.t += 2 * HOUR
        sweep(settings, landing, store, publisher, max_objects=2, page_size=2)
        [problem] = sweep_problems(settings, store)
        assert problem.startswith("the sweep has completed no pass over the landing bucket for over 4 h (it first "
                                  f"ran, and none since {clock.iso(1_764_000_000.0)}; SWEEP_EVERY_MINUTES=60)")
        assert "check the sweep function's logs" in problem
        # a complete pass ends it; the next one overdue is counted from its end
        while not sweep(settings, landing, store, publisher).complete:
            pass
        assert sweep_problems(settings, store) == []
        completed = now.t
        now.t += 4 * HOUR + 1  # and no sweep since (the scheduler stopped, each record write refused)
        [problem] = sweep_problems(settings, store)
        assert f"its last complete pass ended {clock.iso(completed)}" in problem


def test_no_scheduled_sweep_no_sweep_problem():
    with clock.use(VirtualClock()) as now:
        settings, landing, store, _ = make(3, SWEEP_EVERY_MINUTES=0)
        failing(settings, landing, store)  # a sweep by hand
        now.t += 100 * HOUR
        assert sweep_problems(settings, store) == []


def test_the_error_is_one_line_cut_and_never_holds_the_api_key():
    settings, landing, store, _ = make(3, HUB_API_KEY="s3cr3t-key-value")

    class Leaky:
        def publish_message(self, topic, message):
            raise RuntimeError("refused for s3cr3t-key-value " + "x" * 1000 + "\nsecond line")

    with pytest.raises(RuntimeError):
        sweep(settings, landing, store, Leaky())
    error = last_sweep(settings, store)["error"]
    assert error.startswith("RuntimeError: refused for [redacted] xxx") and "s3cr3t" not in error
    assert "\n" not in error and len(error.encode()) <= 300 and error.endswith("…")


def test_a_record_of_an_older_version_is_read_and_carried():
    """last.json written before `error`, `last_complete_at` and `first_at`: status reads it (null),
    and the next run carries what it can (its time as the first sweep's, its end if it was complete)."""
    with clock.use(VirtualClock()) as now:
        settings, landing, store, publisher = make(3)
        store.write(f"{settings.ledger_prefix}sweep/objects/last.json",
                    {"at": now.t, "listed": 3, "known": 3, "queued": 0, "list_calls": 1, "ledger_reads": 3,
                     "seconds": 2.0, "complete": True})
        told = status(settings, store, Subscriber()).to_json()
        holds(told, "status.md")
        assert told["sweep"]["error"] is None and told["sweep"]["last_complete_at"] is None
        old = now.t
        now.t += 600
        failing(settings, landing, store)
        last = last_sweep(settings, store)
        assert last["first_at"] == old and last["last_complete_at"] == old + 2.0
        assert json.loads(json.dumps(last)) == last


def test_a_state_bucket_the_sweep_cannot_write_is_logged_at_error_and_its_stale_record_flagged(caplog):
    """Its grant on the state bucket gone: neither its cursor nor its record can be written. Each run's
    line is at ERROR (the sweep_failed alert); the record left is the last good run's, and once no pass
    has completed for longer than 3 x SWEEP_EVERY_MINUTES + 1 hour, status says so."""
    with clock.use(VirtualClock()) as now:
        settings, landing, store, publisher = known_files(3)
        landing.refuse = False
        assert sweep(settings, landing, store, publisher).complete
        completed = now.t
        writes = store.write

        def refused(path, *args, **kwargs):
            if path.startswith(f"{settings.ledger_prefix}sweep/"):
                raise PermissionError(f"403 POST {path}: storage.objects.create denied")
            return writes(path, *args, **kwargs)

        store.write = refused
        landing.add("cams/new.jpg")  # a file whose event was lost: the pass must list to it
        for _ in range(5):
            now.t += HOUR
            with caplog.at_level(logging.INFO, logger="hub_import.ingest.sweep"):
                caplog.clear()
                with pytest.raises(PermissionError):
                    sweep(settings, landing, store, publisher)
            [done] = [r for r in caplog.records if r.getMessage() == "sweep done"]
            assert done.levelno == logging.ERROR and done.fields["error"].startswith("PermissionError: 403 POST")
            assert done.fields["last_complete_at"] == completed
        [problem] = sweep_problems(settings, store)
        assert f"its last complete pass ended {clock.iso(completed)}" in problem
