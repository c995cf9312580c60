"""Issue 22: a project id enters the Hub's URL paths as one percent-encoded segment, so that no id
(from a forged message, a ledger record, a setting) sends a request carrying the API key to another
endpoint; an id that cannot be a segment at all is refused before any request. (No network: the
session records what would have been sent.)"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from hub_import.hub import HubRejectedError
from tests.unit.hub.test_hub_answers import ASSETS, CREATED, answer, client

TRAVERSAL = "demo-project/../../storages#"
PROJECT = {"status": "success", "data": {"project": {"batches": [{"_id": "b1", "name": "in"}]}}}
LISTING = {"status": "success", "data": {"assets": [], "total": 0}}


def soon() -> float:
    return time.monotonic() + 2


ENCODED = "demo-project%2F..%2F..%2Fstorages%23"
CALLS = {  # each call that names a project: how to make it, an answer, the path it must go to
    "import": (lambda c, p: c.import_assets(p, ASSETS, deadline=soon()), answer(201, CREATED),
               f"/v2/project/{ENCODED}/cloud"),
    "list": (lambda c, p: c.list_assets(p, deadline=soon()), answer(200, LISTING), f"/v2/project/{ENCODED}/assets"),
    "project": (lambda c, p: c.project(p, deadline=soon()), answer(200, PROJECT), f"/v2/project/{ENCODED}"),
    "batches": (lambda c, p: c.batch_ids(p, ["in"], deadline=soon()), answer(200, PROJECT),
                f"/v2/project/{ENCODED}"),
    "soft delete": (lambda c, p: c.soft_delete(p, ["a1"], deadline=soon()), answer(200, {"status": "success"}),
                    f"/v2/project/{ENCODED}/assets"),
    "delete": (lambda c, p: c.delete_assets(p, ["a1"], deadline=soon()), answer(200, {"status": "success"}),
               f"/v2/project/{ENCODED}/assets"),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_traversal_project_goes_to_its_own_encoded_path_never_to_storages(call):
    # GIVEN the forged project of issue 22
    do, reply, expected = CALLS[call]
    c, session = client(reply)
    # WHEN any call that names a project is made with it
    do(c, TRAVERSAL)
    # THEN the request's path holds it as one encoded segment under /v2/, and nothing else
    (method, url, _), = session.requests
    parts = urlsplit(url)
    assert (parts.netloc, parts.path, parts.fragment) == ("hub.example", expected, "")


def test_a_plain_project_id_is_sent_as_it_is():
    c, session = client(answer(201, CREATED))
    c.import_assets("65a1b2c3d4e5f60718293a4b", ASSETS, deadline=soon())
    assert session.requests[0][1] == "https://hub.example/v2/project/65a1b2c3d4e5f60718293a4b/cloud"


@pytest.mark.parametrize("project", ["..", ".", "", " ", "proj\n", "proj\x00"])
@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_project_that_cannot_be_a_path_segment_is_refused_before_any_request(project, call):
    do, reply, _ = CALLS[call]
    c, session = client(reply)
    with pytest.raises(HubRejectedError, match="cannot be put in a Hub URL path"):
        do(c, project)
    assert session.requests == [] and c.calls == 0



@pytest.mark.parametrize("path", ["/v2/project/demo-project/../../storages#/cloud", "/v2/project/p/cloud?x=1",
                                  "/v2/project/./cloud", "/v2/project/p q/cloud", "/storages", "/v2/x\n"])
def test_the_transport_sends_no_path_that_could_leave_its_endpoint(path):
    # GIVEN a path built by anything but project_path (the last guard before the key goes out)
    c, session = client(answer(200, {"status": "success"}))
    with pytest.raises(HubRejectedError, match="could leave the Hub endpoint"):
        c.transport.attempt("POST", path, body={}, deadline=soon())
    assert session.requests == []
