"""Red team 4 (issue 22): creating a batch is not safe to repeat blindly (hub/batches.py: one POST,
then a read tells what happened). When that read does not happen or does not answer, a later
destination of the same run must not POST the same name again: a Hub that does not fold equal
names would hold two batches of that name, and the project's files would be split between them.
(No network: scripted answers, each request counted.)"""
from __future__ import annotations

import time

import pytest

from hub_import.hub import BatchRun, HubError
from tests.unit.hub.test_batch_ids import project
from tests.unit.hub.test_hub_answers import answer, client

CREATED = answer(201, {"status": "success"})


def posts(session, name):
    return [r for r in session.requests if r[0] == "POST" and r[2].get("data") and name in r[2]["data"]]


def test_a_creation_whose_confirming_read_failed_is_not_posted_again_in_the_run():
    # GIVEN groups prepared together: the read, the POST of `cam-1`, then a read that never answers
    hub, session = client(project(), CREATED, *[answer(503, {"status": "error"}) for _ in range(400)])
    run = BatchRun()
    with pytest.raises(HubError):
        hub.prepare_batches("p", [(("cam-1",), None)], create=True, deadline=time.monotonic() + 0.3, run=run)
    # WHEN the group ships (Shipper._ship asks its ids), the Hub answering again
    session.script = [CREATED, project({"_id": "b1", "name": "cam-1"}), project({"_id": "b1", "name": "cam-1"})]
    with pytest.raises(HubError):
        hub.batch_ids("p", ["cam-1"], create=True, deadline=time.monotonic() + 5, run=run)
    # THEN cam-1 was POSTed once only: the creation it cannot confirm is not repeated blindly
    assert len(posts(session, "cam-1")) == 1


def test_a_refused_creation_while_preparing_does_not_make_the_others_posted_twice():
    # GIVEN two destinations prepared together: cam-1 is created, the Hub refuses cam-2 (400)
    hub, session = client(project(), CREATED, answer(400, {"status": "error", "message": "bad name"}),
                          project({"_id": "b1", "name": "cam-1"}), project({"_id": "b1", "name": "cam-1"}))
    run = BatchRun()
    with pytest.raises(HubError):
        hub.prepare_batches("p", [(("cam-1",), None), (("cam-2",), None)], create=True,
                            deadline=time.monotonic() + 5, run=run)
    # WHEN cam-1's group ships
    ids = hub.batch_ids("p", ["cam-1"], create=True, deadline=time.monotonic() + 5, run=run)
    # THEN it has its id, and cam-1 was POSTed once only
    assert ids == ("b1",) and len(posts(session, "cam-1")) == 1
