"""Red team 4 (issue 22): admission asks whether *some* route produces a message's destination, not
whether the route the object's name matches does. So a publisher can send any landing-bucket
object to any project another route names: `hr/salaries.jpg` (the default route, project `proj`)
into project `cams`, which only `cams/` files go to, with `cams/`'s storage and its template filled
in for it. Routes are how a deployment keeps one prefix's files out of another audience's project.
(A whole flush over fakes, as test_forged_messages.py builds it; no network.)"""
from __future__ import annotations

from hub_import.core.admission import refusal
from hub_import.core.decisions import decide
from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.settings import load
from tests.unit.flush.test_forged_messages import SETTINGS_ENV, dead_letter_reasons, run_flush

CAMS = Destination("cams", "st-cams", ("cams-2026-01-02",), templates=(("cams-2026-01-02", "cams-{date}"),))


def test_a_message_sending_an_object_to_another_routes_project_is_dead_lettered():
    # GIVEN an object the default route sends to `proj`, and a message sending it to `cams` instead
    ref = ObjectRef("landing", "hr/salaries.jpg", 1, size=10, time_created="2026-01-02T03:04:05Z")
    assert decide(ref, load(SETTINGS_ENV)).destination.project == "proj"
    forged = ObjectMessage(ref, CAMS, (10, 10))
    # WHEN a flush pulls it
    hub, subscriber, publisher, _ = run_flush(SETTINGS_ENV, ("f1", forged))
    # THEN it goes nowhere: dead-lettered with the reason, then acked
    assert hub.imported == [] and subscriber.acked == ["f1"]
    assert dead_letter_reasons(publisher) and "refused" in dead_letter_reasons(publisher)[0]


def test_an_object_of_a_routed_prefix_cannot_be_sent_to_the_default_project():
    # GIVEN a cams/ object (route: project cams) and a message sending it to the default route's
    ref = ObjectRef("landing", "cams/a.jpg", 1, size=10, time_created="2026-01-02T03:04:05Z")
    forged = ObjectMessage(ref, Destination("proj", "st", ("incoming",)))
    # THEN admission refuses it; what ingest queues for it is obeyed
    assert refusal(forged, load(SETTINGS_ENV)) is not None
    assert refusal(ObjectMessage(ref, CAMS), load(SETTINGS_ENV)) is None
