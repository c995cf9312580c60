"""Red team: the Hub's own error message is copied, as it is, into HubError; from there it goes to
the logs, to dead letters ("Hub rejected: <reason>"), into failed manifests' `error`, and now onto
the results topic (`error` of a failed manifest's result), read by whoever subscribes. An API
gateway or the Hub that echoes the key it refused (`Invalid API key: <key>`, a common answer) or
the request's headers puts the key into all of those. Nothing strips the client's own key from
what the Hub says."""
from __future__ import annotations

import time

import pytest

from hub_import.hub import HubAuthError, HubRejectedError
from tests.unit.hub.test_hub_answers import answer, client

KEY = "secret-key"  # the key test_hub_answers.client gives its HubClient


@pytest.mark.parametrize("status,error", [(400, HubRejectedError), (401, HubAuthError)], ids=["400", "401"])
def test_a_hub_answer_that_echoes_the_api_key_does_not_carry_it_further(status, error):
    c, _ = client(answer(status, {"status": "fail", "message": f"Invalid API key: {KEY} (header apikey)"}))
    with pytest.raises(error) as raised:
        c.import_assets("p", [], deadline=time.monotonic() + 2) if status == 400 else c.ping(time.monotonic() + 2)
    assert KEY not in str(raised.value), str(raised.value)
