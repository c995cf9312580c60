"""Batch names to ids cost Hub calls only where they must: one project read per run, whatever the
number of names missing; nothing created for a destination when its cap refuses any of its names;
a Hub answer whose batches are malformed is read around, not crashed on (no network: scripted
answers, each request counted)."""
from __future__ import annotations

import pytest

from hub_import.hub import BatchRun, HubNotFoundError, HubUnavailableError
from tests.unit.hub.test_hub_answers import answer, client


def project(*batches):
    return answer(200, {"status": "success", "data": {"project": {"_id": "p", "batches": list(batches)}}})


class CapReached(Exception):
    pass


def test_names_still_missing_after_the_runs_read_cost_no_further_call():
    # GIVEN a project without the batches 40 destinations name, and creating batches off
    hub, session = client(project({"_id": "b1", "name": "kept"}))
    run = BatchRun()
    # WHEN each destination asks for its own name in one run
    for i in range(40):
        with pytest.raises(HubNotFoundError):
            hub.batch_ids("p", [f"cam-{i}"], create=False, run=run)
    # THEN the project was read once, and the run counts that one call
    assert len(session.requests) == 1 and run.calls == 1
    # AND a name the read found costs nothing more
    assert hub.batch_ids("p", ["kept"], run=run) == ("b1",) and len(session.requests) == 1


def test_a_cap_that_refuses_one_name_of_a_destination_creates_none_of_them():
    # GIVEN a destination with two missing names, the cap refusing the second
    hub, session = client(project())

    def before_create(name):
        if name == "second":
            raise CapReached(name)
    # WHEN its ids are asked with creation on
    with pytest.raises(CapReached):
        hub.batch_ids("p", ["first", "second"], create=True, before_create=before_create)
    # THEN nothing was created: the one call is the project read
    assert [method for method, _, _ in session.requests] == ["GET"]


def test_created_names_cost_one_post_each_and_one_read_for_all():
    hub, session = client(project(), answer(201, {"status": "success"}), answer(201, {"status": "success"}),
                          project({"_id": "i1", "name": "a"}, {"_id": "i2", "name": "b"}))
    assert hub.batch_ids("p", ["a", "b"], create=True) == ("i1", "i2")
    assert [method for method, _, _ in session.requests] == ["GET", "POST", "POST", "GET"]


def test_malformed_batches_in_the_projects_answer_are_read_around():
    # GIVEN a Hub that answers a batch whose name is not a string, and one without an id
    hub, _ = client(project({"_id": "x", "name": ["not", "a", "name"]}, {"name": "no-id"},
                            {"_id": "b1", "name": "good"}))
    # THEN the good one resolves, and the flush is not crashed by the others
    assert hub.batch_ids("p", ["good"]) == ("b1",)


def test_a_project_read_that_fails_is_not_repeated_for_every_destination_of_the_run():
    # GIVEN a Hub whose project answer cannot be read
    hub, session = client(answer(200, {"status": "success", "data": {}}))
    run = BatchRun()
    # WHEN 40 destinations ask for their names in one run
    for i in range(40):
        with pytest.raises(HubUnavailableError):
            hub.batch_ids("p", [f"cam-{i}"], create=True, run=run)
    # THEN the project was asked once
    assert len(session.requests) == 1 and run.calls == 1


def test_batches_that_are_not_a_list_are_no_batches():
    hub, _ = client(answer(200, {"status": "success", "data": {"project": {"_id": "p", "batches": 7}}}))
    with pytest.raises(HubNotFoundError):
        hub.batch_ids("p", ["any"])


def test_preparing_several_destinations_reads_once_after_all_creations_and_leaves_a_refused_one_out():
    created = answer(201, {"status": "success"})
    hub, session = client(project(), created, created, project({"_id": "i1", "name": "a"}, {"_id": "i2", "name": "b"}))

    def refuse(name):
        raise CapReached(name)
    run = BatchRun()
    # WHEN three destinations are prepared together, the cap refusing the third's name
    hub.prepare_batches("p", [(["a"], None), (["b", "a"], None), (["c"], refuse)], create=True, run=run)
    # THEN "a" and "b" were created once each, with one read before and one after
    assert [method for method, _, _ in session.requests] == ["GET", "POST", "POST", "GET"] and run.calls == 4
    assert hub.batch_ids("p", ["b", "a"], run=run) == ("i2", "i1") and run.calls == 4
    # AND the refused one says why when asked, at no call
    with pytest.raises(CapReached):
        hub.batch_ids("p", ["c"], create=True, before_create=refuse, run=run)
    assert len(session.requests) == 4
