"""Every answer the Hub can give an import, and what the client makes of it (no network: the
answers are built as `requests` would hand them over)."""
from __future__ import annotations

import json
import time

import pytest
import requests

from hub_import.core.assets import build_asset
from hub_import.core.objects import ObjectRef
from hub_import.hub import (HubAuthError, HubClient, HubGeofencedError, HubNotFoundError, HubOutcomeUnknownError,
                            HubRedirectError, HubRejectedError, HubTooLargeError, HubUnavailableError)

ASSETS = [build_asset(ObjectRef("b", f"a/{i}.jpg", 1), storage="s") for i in range(4)]


def answer(status: int, body=None, headers: dict | None = None, raw: bytes | None = None) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = raw if raw is not None else json.dumps(body).encode() if body is not None else b""
    r.headers.update({"Content-Type": "application/json", **(headers or {})})
    r.reason = "reason"
    return r


class Scripted:
    """A session that answers from a script (a Response, or an exception to raise)."""

    def __init__(self, *script):
        self.script, self.requests = list(script), []
        self.headers = {}

    def request(self, method, url, **kwargs):
        self.requests.append((method, url, kwargs))
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def close(self):
        pass


def client(*script) -> tuple[HubClient, Scripted]:
    c = HubClient("https://hub.example", "secret-key", requests_per_minute=0, backoff_base=0.001, backoff_cap=0.01)
    c.transport._session = Scripted(*script)
    return c, c.transport._session


def send(c):
    return c.import_assets("p", ASSETS, deadline=time.monotonic() + 2)


CREATED = {"status": "success", "data": {"assets": {"assetsCreated": 4, "tasksCreated": 4}}}


def test_a_201_with_every_asset_created_is_success():
    c, s = client(answer(201, CREATED))
    assert send(c).sent == ASSETS and len(s.requests) == 1


def test_redirects_are_never_followed():
    c, s = client(answer(201, CREATED))
    send(c)
    assert s.requests[0][2]["allow_redirects"] is False


@pytest.mark.parametrize("body", [
    {"status": "success", "data": {"assets": {"assetsCreated": 2, "tasksCreated": 2}}},
    {"status": "fail", "message": "could not import"},
    {"status": "error"},
], ids=["fewer-created", "status-fail", "status-error"])
def test_a_2xx_that_does_not_prove_every_asset_stored_is_an_unknown_outcome(body):
    c, _ = client(answer(200, body))
    with pytest.raises(HubOutcomeUnknownError) as raised:
        send(c)
    assert raised.value.assets == ASSETS


@pytest.mark.parametrize("raw", [b"<html>ok</html>", b'{"status": "succ', b"[1, 2]"], ids=["html", "cut", "list"])
def test_a_2xx_body_we_cannot_read_is_an_unknown_outcome(raw):
    c, _ = client(answer(201, raw=raw))
    with pytest.raises(HubOutcomeUnknownError):
        send(c)


@pytest.mark.parametrize("failure", [requests.ReadTimeout("slow"), requests.ConnectionError("reset by peer"),
                                     requests.exceptions.ChunkedEncodingError("cut mid-body")],
                         ids=["read-timeout", "reset", "cut-mid-body"])
def test_a_lost_answer_is_an_unknown_outcome_and_never_resent(failure):
    c, s = client(failure, answer(201, CREATED))
    with pytest.raises(HubOutcomeUnknownError):
        send(c)
    assert len(s.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 405, 409, 418, 422])
def test_a_5xx_or_an_undocumented_status_is_an_unknown_outcome_and_never_resent(status):
    c, s = client(answer(status, {"status": "error", "message": "x"}), answer(201, CREATED))
    with pytest.raises(HubOutcomeUnknownError) as raised:
        send(c)
    assert raised.value.status == status and len(s.requests) == 1


@pytest.mark.parametrize("headers", [{"Retry-After": "0"}, {}], ids=["retry-after", "no-retry-after"])
def test_a_429_is_retried_because_nothing_was_stored(headers):
    c, s = client(answer(429, {"status": "fail", "message": "slow down"}, headers), answer(201, CREATED))
    assert send(c).sent == ASSETS and len(s.requests) == 2


def test_429s_until_the_deadline_raise_unavailable_not_unknown():
    c, _ = client(*[answer(429, {"status": "fail"}, {"Retry-After": "1"})] * 5)
    with pytest.raises(HubUnavailableError) as raised:
        c.import_assets("p", ASSETS, deadline=time.monotonic() + 0.5)
    assert not isinstance(raised.value, HubOutcomeUnknownError)


def test_a_400_naming_assets_says_which():
    c, _ = client(answer(400, {"status": "fail", "message": "Invalid assets: assets[2].data: raw space"}))
    with pytest.raises(HubRejectedError) as raised:
        send(c)
    assert raised.value.indexes == [2]


def test_a_413_from_a_proxy_page_is_too_large():
    c, _ = client(answer(413, raw=b"<html><title>413 Request Entity Too Large</title></html>",
                         headers={"Content-Type": "text/html"}))
    with pytest.raises(HubTooLargeError):
        send(c)


@pytest.mark.parametrize("status,error", [(401, HubAuthError), (403, HubAuthError), (404, HubNotFoundError),
                                          (451, HubGeofencedError)])
def test_documented_refusals_are_typed_and_not_retried(status, error):
    c, s = client(answer(status, {"status": "fail", "message": "no"}))
    with pytest.raises(error) as raised:
        send(c)
    assert raised.value.status == status and len(s.requests) == 1


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_names_the_host_but_is_not_followed(status):
    c, s = client(answer(status, raw=b"", headers={"Location": "https://elsewhere.example/v2/x"}))
    with pytest.raises(HubRedirectError, match="elsewhere.example") as raised:
        send(c)
    assert len(s.requests) == 1 and "secret-key" not in str(raised.value)


def test_a_listing_of_an_unexpected_shape_is_unavailable_not_a_crash():
    c, _ = client(answer(200, {"status": "success", "data": {"items": []}}))
    with pytest.raises(HubUnavailableError, match="unexpected shape"):
        c.list_assets("p", deadline=time.monotonic() + 0.2)


def test_storages_are_read_page_by_page():
    page1 = [{"_id": f"s{i}"} for i in range(100)]
    c, s = client(answer(200, {"data": {"storages": page1}}), answer(200, {"data": {"storages": [{"_id": "s100"}]}}))
    assert len(c.storages()) == 101
    assert [r[2]["params"]["page"] for r in s.requests] == [1, 2]
