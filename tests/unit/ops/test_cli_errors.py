"""Issue 20, part 3: every command answers bad input, a missing bucket or Hub project, missing
credentials and a closed pipe with one line on stderr naming what to fix, never a traceback, and
an exit code from the one scheme (hub_import/ops/exit_codes.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from google.api_core import exceptions as api

from hub_import.hub import HubUnavailableError
from hub_import.ops import cli, exit_codes

ROOT = Path(__file__).resolve().parents[3]
BASE = {"GOOGLE_CLOUD_PROJECT": "p", "HUB_PROJECT_ID": "proj", "STATE_BUCKET": "state",
        "HUB_PUBLIC_BUCKET": "true", "LANDING_BUCKET": "nosuchbucket", "PUBSUB_EMULATOR_HOST": "127.0.0.1:9"}


@pytest.fixture
def env(env, monkeypatch):
    """The key tests' environment (conftest.py), with a landing bucket and no real client."""
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def one_line(err: str) -> str:
    """The one line a failed command wrote on stderr."""
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


class Blobs:
    """A storage client whose every bucket is missing, as GCS answers it (google.cloud.storage raises
    api_core's NotFound, its text the request and the reason)."""

    def bucket(self, name):
        return self

    def list_blobs(self, **kwargs):
        raise api.NotFound("GET http://127.0.0.1:9/storage/v1/b/nosuchbucket/o?maxResults=1000: "
                           "The specified bucket does not exist.")


class Empty:
    """A state bucket with nothing in it."""

    def bucket(self, name):
        return self

    def list_blobs(self, **kwargs):
        return iter(())


@pytest.mark.parametrize("argv", [["backfill", "gs://nosuchbucket", "--since", "yesterday"],
                                  ["status", "--since", "2026-13-01"], ["audit", "--since", "soon"],
                                  ["trace", "gs://b/n", "--since", "2026-02-30"]])
def test_a_since_that_is_not_a_date_is_one_line_and_exit_2(env, capsys, argv):
    assert cli.main(argv) == exit_codes.USAGE
    line = one_line(capsys.readouterr().err)
    assert "--since" in line and "expected YYYY-MM-DD or an ISO 8601 time" in line


def test_a_missing_bucket_is_named_with_what_to_check(env, capsys):
    env.setattr("hub_import.core.clients.storage_client", lambda: Blobs())
    assert cli.main(["backfill", "gs://nosuchbucket"]) == exit_codes.USAGE
    line = one_line(capsys.readouterr().err)
    assert line.startswith("bucket nosuchbucket does not exist") and "LANDING_BUCKET" in line


class Hub404(BaseHTTPRequestHandler):
    """The Hub's answer to a project that does not exist: 404 with its JSON message."""

    def do_GET(self):
        body = json.dumps({"status": "fail", "message": "Project not found \x1b[2J"}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def hub_404():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub404)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_missing_hub_project_is_one_line_and_exit_2(env, capsys, hub_404):
    # GIVEN a state bucket with nothing in it, and a Hub that has no project "ghost"
    env.setattr("hub_import.core.clients.storage_client", lambda: Empty())
    env.setenv("HUB_API_URL", hub_404)
    env.setenv("HUB_API_KEY", "sk-7f3a9c2e41b8d6aa")
    # WHEN audit is asked about it
    code = cli.main(["audit", "--project", "ghost"])
    # THEN one line says what to check, the Hub's words in it made harmless
    line = one_line(capsys.readouterr().err)
    assert code == exit_codes.USAGE
    assert line.startswith("the Hub has no such project") and "--project" in line and "ghost" in line
    assert "\x1b" not in line and "\\x1b[2J" in line


def test_a_hub_that_does_not_answer_is_exit_3(env, capsys):
    class Down:
        def storages(self, deadline=None):
            raise HubUnavailableError("Hub unavailable until the deadline: connection refused")

    env.setenv("HUB_API_KEY", "sk-7f3a9c2e41b8d6aa")
    env.setattr("hub_import.flush.run.hub_client", lambda settings: Down())
    assert cli.main(["storages"]) == exit_codes.UNREACHABLE
    assert "connection refused" in one_line(capsys.readouterr().err)


def test_an_unexpected_error_is_one_line_with_the_way_to_its_traceback(env, capsys):
    def boom(settings, args):
        raise RuntimeError("boom\nsecond line")

    env.setattr(cli, "cmd_check", boom)
    assert cli.main(["check"]) == exit_codes.INTERNAL
    line = one_line(capsys.readouterr().err)
    assert line.startswith("unexpected error: RuntimeError: boom") and "--debug" in line
    # --debug, before or after the command, shows the traceback; so does LOG_LEVEL=DEBUG
    for argv in (["--debug", "check"], ["check", "--debug"], ["--set", "LOG_LEVEL=DEBUG", "check"]):
        assert cli.main(argv) == exit_codes.INTERNAL
        err = capsys.readouterr().err
        assert "Traceback" in err and err.rstrip().endswith("unexpected error: RuntimeError: boom")


def test_an_error_never_shows_the_key(env, capsys):
    key = "sk-7f3a9c2e41b8d6aa"

    def leaks(settings, args):
        raise RuntimeError(f"the request had Authorization: {key}")

    env.setenv("HUB_API_KEY", key)
    env.setattr(cli, "cmd_check", leaks)
    assert cli.main(["check"]) == exit_codes.INTERNAL
    err = capsys.readouterr().err
    assert key not in err and key[:8] not in err and "[redacted]" in err


def clean_env(**more) -> dict:
    """A process environment with the settings of BASE and no way to credentials or emulators."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "SYSTEMROOT", "TMPDIR")}
    return {**keep, **{k: v for k, v in BASE.items() if "EMULATOR" not in k}, **more}


def test_missing_application_default_credentials_are_named_with_the_command_that_fixes_them(tmp_path):
    # GIVEN no emulator, no GOOGLE_APPLICATION_CREDENTIALS, no gcloud login, no metadata server
    env = clean_env(HOME=str(tmp_path), CLOUDSDK_CONFIG=str(tmp_path / "gcloud"), NO_GCE_CHECK="True")
    done = subprocess.run([sys.executable, "-m", "hub_import", "status"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == exit_codes.UNREACHABLE, done.stderr
    assert "gcloud auth application-default login" in one_line(done.stderr)


PRINTS_ON = """
import sys
from hub_import.ops import cli
def lines(settings, args):
    for n in range(200000):
        print(f"line {n}")
    return 0
cli.cmd_status = lines
sys.exit(cli.main(["status"]))
"""


def test_a_closed_pipe_ends_quietly_with_141(tmp_path):
    # WHEN the reader of `status` goes away after one line (`status | head -1`)
    proc = subprocess.Popen([sys.executable, "-c", PRINTS_ON], cwd=ROOT, env=clean_env(HOME=str(tmp_path)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    # THEN it stops at once, says nothing, and exits as a tool SIGPIPE ends does
    assert proc.wait(timeout=60) == exit_codes.BROKEN_PIPE and first == b"line 0\n"
    assert err == ""


@pytest.mark.parametrize("error, code, says", [
    (api.RetryError("Timeout of 60.0s exceeded", cause=ConnectionError("refused")), exit_codes.UNREACHABLE,
     "GCS or Pub/Sub did not answer (Timeout of 60.0s exceeded; last: ConnectionError)"),
    (api.ServiceUnavailable("the emulator is gone"), exit_codes.UNREACHABLE, "GCS or Pub/Sub did not answer"),
    (api.PermissionDenied("no storage.objects.list"), exit_codes.UNREACHABLE, "Google Cloud refused access"),
    (api.NotFound("Resource not found (resource=hub-import-flush)."), exit_codes.USAGE, "PUBSUB_SUBSCRIPTION"),
    (requests.ConnectionError("Max retries exceeded"), exit_codes.UNREACHABLE, "a connection failed"),
])
def test_a_google_cloud_that_does_not_answer_or_refuses_is_one_line(env, capsys, error, code, says):
    def fails(settings, args):
        raise error

    env.setattr(cli, "cmd_check", fails)
    assert cli.main(["check"]) == code
    assert says in one_line(capsys.readouterr().err)
