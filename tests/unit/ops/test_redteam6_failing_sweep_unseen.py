"""Red team 6: a sweep that fails on every run (its account lost pubsub.publisher on the topic, or
the topic's quota; a state bucket it cannot write) is invisible. Each run still writes its
last.json in `_tell` (queued 0, complete false), which `status` shows as "the pass goes on at the
next sweep" and counts as needing nobody; the only alert on the sweep (`sweep_missed`) counts files
it queued, and there is none on its errors or on a pass that never completes. The safety net for
lost events is down and nothing says so, until files are missed for good.
Suggested fix: say in last.json how the run ended (the error's type, `stopped`) and when the last
complete pass was (`passes`, its time), and have `status` (and an alert on the "sweep done" line,
or on the function's errors) flag a sweep that failed or has not completed a pass for longer than
a few SWEEP_EVERY_MINUTES. (No network: the fakes of tests/unit/ingest/test_sweep.py.)
Fixed: each run's record says its error and when the last complete pass ended; `status` flags a
failed sweep and a pass overdue (tests/unit/ops/test_sweep_failed.py), and the `sweep_failed`
alert fires on the ERROR "sweep done" line (tests/terraform/test_monitoring.py)."""
from __future__ import annotations

import pytest

from hub_import.core.messages import PublishError
from hub_import.ops.status import status
from tests.unit.ingest.test_sweep import make, sweep
from tests.unit.ops.test_status_owed import Subscriber


class Refused:
    def result(self, timeout=None):
        raise RuntimeError("403 User not authorized to perform this action (pubsub.topics.publish)")


class NoPublisher:
    sent: list = []

    def publish_message(self, topic, message):
        return Refused()


def test_a_sweep_that_fails_on_every_run_needs_a_person():
    settings, landing, store, _ = make(3)
    # GIVEN files whose event was lost, and a sweep that cannot publish, run after run
    for _ in range(5):
        with pytest.raises(PublishError):
            sweep(settings, landing, store, NoPublisher())
    # THEN status says the sweep needs a person
    problems = status(settings, store, Subscriber()).problems()
    assert any("sweep" in p for p in problems), problems
