"""Red team 4 (issue 22): a destination's priority is part of it (Destination equality; the import
call's `priority`), but admission never looked at it: a publisher could requeue any landing object
at priority 1000, putting it ahead of every labeler's queue, or at -1000. Only the route's
priority, or the object's own `hub-priority` when HUB_METADATA_OVERRIDES allows, is obeyed."""
from __future__ import annotations

from dataclasses import replace

from hub_import.core.admission import refusal
from hub_import.core.settings import load
from tests.unit.flush.test_forged_messages import DEST, SETTINGS_ENV, dead_letter_reasons, obj, run_flush


def test_a_priority_the_route_does_not_give_is_dead_lettered():
    forged = obj("a.jpg", dest=replace(DEST, priority=1000))
    hub, subscriber, publisher, _ = run_flush(SETTINGS_ENV, ("f1", forged))
    assert hub.imported == [] and subscriber.acked == ["f1"]
    assert "priority 1000" in dead_letter_reasons(publisher)[0]


def test_the_routes_priority_and_an_allowed_hub_priority_are_obeyed():
    assert refusal(obj("a.jpg"), load(SETTINGS_ENV)) is None
    own = obj("a.jpg", dest=replace(DEST, priority=7), metadata={"hub-priority": "7"})
    assert refusal(own, load({**SETTINGS_ENV, "HUB_METADATA_OVERRIDES": "true"})) is None
    assert refusal(own, load(SETTINGS_ENV)) is not None
