"""Red team 4 (issue 22): admission reads what a publisher wrote (names, metadata, templates, times).
The OverflowError of a forged timeCreated (test_redteam4_date_overflow.py) showed that one
unforeseen exception while judging a message ends every flush that pulls it. Whatever judging one
message raises, that message is refused with the reason and dead-lettered, and the flush goes on.
(A whole flush over fakes; the failure is injected where the template is filled in.)"""
from __future__ import annotations

from hub_import.core import admission
from hub_import.core.batch_templates import fill
from hub_import.core.routes import Destination
from tests.unit.flush.test_forged_messages import SETTINGS_ENV, dead_letter_reasons, obj, run_flush


def test_a_message_whose_judging_raises_is_dead_lettered_and_the_flush_goes_on(monkeypatch):
    def broken_fill(templates, ref):
        if any("{" in t for t in templates):
            raise RecursionError("what a crafted message might do to a parser")
        return fill(templates, ref)

    monkeypatch.setattr(admission, "fill", broken_fill)
    odd = obj("cams/a.jpg", dest=Destination("cams", "st-cams", ("cams-x",), templates=(("cams-x", "cams-{date}"),)),
              time_created="2026-01-02T03:04:05Z")
    hub, subscriber, publisher, _ = run_flush(SETTINGS_ENV, ("f1", odd), ("ok1", obj("a.jpg")))
    assert hub.imported == ["a.jpg"] and sorted(subscriber.acked) == ["f1", "ok1"]
    assert dead_letter_reasons(publisher) == ["refused: it could not be judged (RecursionError)"]
