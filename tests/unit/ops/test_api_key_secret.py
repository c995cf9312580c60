"""`--api-key-secret NAME`: the Hub API key read from Secret Manager by name; nothing the secret
holds is ever in an error, and a name of another shape makes no call."""
from __future__ import annotations

import base64

import pytest

from hub_import.ops.cli_env import CliEnvError, environment
from hub_import.ops.secret_key import ACCESS_URL

SECRET = "projects/p1/secrets/hub-import-hub-api-key"
KEY = "K3Y-not-to-be-shown-0123456789abcdef"


class Answer:
    def __init__(self, status: int, body):
        self.status_code, self._body = status, body

    def json(self):
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


class Session:
    def __init__(self, answer):
        self.answer, self.urls = answer, []

    def get(self, url, timeout):
        self.urls.append(url)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def payload(text: str) -> dict:
    return {"name": f"{SECRET}/versions/3", "payload": {"data": base64.b64encode(text.encode()).decode()}}


def test_the_key_comes_from_the_latest_version_of_the_named_secret():
    session = Session(Answer(200, payload(KEY + "\n")))
    env = environment({"HUB_API_KEY": "from-the-shell"}, [], None, SECRET, session=session)
    assert env["HUB_API_KEY"] == KEY
    assert session.urls == [ACCESS_URL.format(name=f"{SECRET}/versions/latest")]


def test_a_named_version_is_read_as_named():
    session = Session(Answer(200, payload(KEY)))
    environment({}, [], None, f"{SECRET}/versions/3", session=session)
    assert session.urls == [ACCESS_URL.format(name=f"{SECRET}/versions/3")]


@pytest.mark.parametrize("answer, says", [
    (Answer(403, {"error": {"message": KEY}}), "403 (does this account have roles/secretmanager.secretAccessor"),
    (Answer(404, {}), "answered 404"),
    (Answer(200, {"payload": {}}), "without a UTF-8 payload"),
    (Answer(200, ValueError(KEY)), "without a UTF-8 payload"),
    (Answer(200, payload(KEY + "\nsecond line")), "the key alone, on one line"),
    (Answer(200, payload("  ")), "the key alone, on one line"),
    (ConnectionError(KEY), "did not answer (ConnectionError)"),
])
def test_a_secret_that_cannot_be_used_is_refused_without_showing_what_it_holds(answer, says):
    with pytest.raises(CliEnvError) as refused:
        environment({}, [], None, SECRET, session=Session(answer))
    assert says in str(refused.value) and KEY not in str(refused.value) and "K3Y" not in str(refused.value)


@pytest.mark.parametrize("name", ["hub-import-hub-api-key", "projects/p1/secrets/s/versions/x",
                                  "projects/p1/secrets/../../v1/projects", f"{SECRET}?alt=json"])
def test_a_name_of_another_shape_is_refused_before_any_call(name):
    session = Session(Answer(200, payload(KEY)))
    with pytest.raises(CliEnvError, match="expected projects/PROJECT/secrets/SECRET"):
        environment({}, [], None, name, session=session)
    assert session.urls == []


def test_a_file_and_a_secret_at_once_are_refused():
    with pytest.raises(CliEnvError, match="not both"):
        environment({}, [], "/dev/null", SECRET, session=Session(Answer(200, payload(KEY))))


def test_the_cli_takes_the_option_and_refuses_a_bad_name_with_exit_code_2(capsys):
    from hub_import.ops.cli import main

    assert main(["--api-key-secret", "not-a-name", "status"]) == 2
    assert "expected projects/PROJECT/secrets/SECRET" in capsys.readouterr().err
