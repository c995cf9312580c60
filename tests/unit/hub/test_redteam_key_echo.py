"""Red team: the Hub's own error message is copied, as it is, into HubError; from there it goes to
the logs, to dead letters ("Hub rejected: <reason>"), into failed manifests' `error`, and now onto
the results topic (`error` of a failed manifest's result), read by whoever subscribes. An API
gateway or the Hub that echoes the key it refused (`Invalid API key: <key>`, a common answer) or
the request's headers puts the key into all of those. Nothing strips the client's own key from
what the Hub says.

Issue 23: a 2xx answer with `"status": "fail"` was copied without redaction, and a message was cut
to 500 characters before it was redacted, so a key across the cut went out in part. Every answer
now becomes text through one door (hub/redact.py): the key out first, in every form, then the cut."""
from __future__ import annotations

import json
import time
from urllib.parse import quote, quote_plus

import pytest

from hub_import.hub import (HubAuthError, HubClient, HubError, HubOutcomeUnknownError, HubRedirectError,
                            HubRejectedError)
from tests.unit.hub.test_hub_answers import ASSETS, Scripted, answer, client

KEY = "secret-key"  # the key test_hub_answers.client gives its HubClient
# A key whose JSON-escaped and URL-encoded forms differ from it (as a real key's may).
ODD_KEY = 'sk/Live+9f3a"b7c\\d2e&x=Q1w2E3r4-t5y6'


def key_pieces(key: str) -> set[str]:
    """Every 8-character run of the key as an answer may carry it: raw, JSON-escaped, URL-encoded."""
    forms = {key, json.dumps(key)[1:-1], quote(key, safe=""), quote_plus(key)}
    return {f[i:i + 8] for f in forms for i in range(max(1, len(f) - 7))}


def leaked(text: str, key: str = ODD_KEY) -> list[str]:
    return sorted(p for p in key_pieces(key) if p in text)


@pytest.mark.parametrize("status,error", [(400, HubRejectedError), (401, HubAuthError)], ids=["400", "401"])
def test_a_hub_answer_that_echoes_the_api_key_does_not_carry_it_further(status, error):
    c, _ = client(answer(status, {"status": "fail", "message": f"Invalid API key: {KEY} (header apikey)"}))
    with pytest.raises(error) as raised:
        c.import_assets("p", [], deadline=time.monotonic() + 2) if status == 400 else c.ping(time.monotonic() + 2)
    assert KEY not in str(raised.value), str(raised.value)


def odd_client(*script) -> HubClient:
    c = HubClient("https://hub.example", ODD_KEY, requests_per_minute=0, backoff_base=0.001, backoff_cap=0.01)
    c.transport._session = Scripted(*script)
    return c


def straddling(key: str) -> str:
    """A message longer than the cut (500) whose key starts 12 characters before it."""
    return "x" * 488 + key + " was refused"


ECHOES = {
    "2xx-fail-message": (200, {"status": "fail", "message": f"Invalid API key: {ODD_KEY}"}, None),
    "2xx-fail-status": (200, {"status": ODD_KEY, "message": "?"}, None),
    "2xx-fail-straddling": (200, {"status": "fail", "message": "y" * 188 + ODD_KEY}, None),
    "400": (400, {"status": "fail", "message": f"Invalid API key: {ODD_KEY}"}, None),
    "400-straddling": (400, {"status": "fail", "message": straddling(ODD_KEY)}, None),
    "401": (401, {"status": "fail", "message": f"Invalid API key: {ODD_KEY}"}, None),
    "403-straddling": (403, {"status": "fail", "message": straddling(ODD_KEY)}, None),
    "500": (500, {"status": "error", "message": f"upstream said apikey={ODD_KEY}"}, None),
    "503-straddling": (503, {"status": "error", "message": straddling(ODD_KEY)}, None),
    "json-escaped": (400, None, json.dumps(["headers", {"apikey": ODD_KEY}]).encode()),
    # (the key 12 characters before where the old code cut a body: 200)
    "json-escaped-straddling": (500, None, json.dumps(["z" * 171, {"apikey": ODD_KEY}]).encode()),
    "url-encoded": (400, {"status": "fail", "message": f"GET /v2/x?apikey={quote(ODD_KEY, safe='')}"}, None),
    "url-encoded-plus": (404, {"status": "fail", "message": f"bad apikey={quote_plus(ODD_KEY)}"}, None),
    "url-encoded-lower-hex": (400, {"status": "fail",
                                    "message": "apikey=" + quote(ODD_KEY, safe="").replace("%2F", "%2f")}, None),
}


@pytest.mark.parametrize("case", ECHOES, ids=list(ECHOES))
def test_no_piece_of_the_key_an_answer_echoes_reaches_an_error(case):
    # GIVEN the Hub answers an import with the API key in it (raw, escaped or encoded, across the cut)
    status, body, raw = ECHOES[case]
    c = odd_client(answer(status, body, raw=raw))
    # WHEN the import fails
    with pytest.raises(HubError) as raised:
        c.import_assets("p", ASSETS, deadline=time.monotonic() + 2)
    # THEN no 8 characters of the key are in the error, its message or its repr
    error = raised.value
    assert not leaked(f"{error} {error.message} {error!r} {error.args}"), str(error)


def test_a_reason_phrase_and_a_redirect_target_that_carry_the_key_do_not_carry_it_further():
    reason = answer(500, raw=b"")
    reason.headers["Content-Type"] = "text/plain"
    reason.reason = f"Bad key {ODD_KEY}"
    redirect = answer(302, raw=b"", headers={"Location": f"https://{quote(ODD_KEY, safe='')}@other.example/v2"})
    for response, error in ((reason, HubOutcomeUnknownError), (redirect, HubRedirectError)):
        with pytest.raises(error) as raised:
            odd_client(response).import_assets("p", ASSETS, deadline=time.monotonic() + 2)
        assert not leaked(str(raised.value)), str(raised.value)


def test_a_key_across_the_end_of_what_is_read_of_an_answer_leaves_none_of_its_first_characters():
    # GIVEN an answer far longer than what is read of it (READ_LIMIT), the key 7 characters before that end
    from hub_import.hub.redact import READ_LIMIT, Redactor

    text = "a" * (READ_LIMIT - 7) + ODD_KEY + " refused"
    # WHEN it becomes text, with room for all of it
    said = Redactor(ODD_KEY).said(text, limit=2 * READ_LIMIT)
    # THEN no character of the key is left at that end (the key is taken out before anything is cut)
    assert ODD_KEY[:7] not in said and not leaked(said), said[-40:]
