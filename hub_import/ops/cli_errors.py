"""What the CLI answers when a command fails: one line on stderr that names what to fix, and an
exit code from exit_codes.py, never a traceback (`--debug`, or LOG_LEVEL=DEBUG, adds it).

`guarded(run)` runs a command; `explain(exc)` maps an exception class to (line, code). Ops modules
raise `UsageError` for input that cannot be used, instead of printing; every other known error
(a missing bucket or Hub project, missing credentials, a dependency that does not answer) is the
library's own exception, mapped here. Each line is the API key taken out (hub/redact.py) and
then made safe for a terminal (core/text.py): it may quote a name or a message someone else wrote.
"""
from __future__ import annotations

import os
import re
import sys
import traceback
from typing import Callable

from hub_import.core.environment import ConfigError
from hub_import.core.text import for_terminal
from hub_import.hub.errors import HubAuthError, HubError, HubNotFoundError
from hub_import.hub.redact import PIECE, Redactor

from . import exit_codes
from .cli_env import CliEnvError

LINE_LIMIT = 400  # characters of an exception's text quoted in the one line
DEBUG_HINT = "rerun with --debug (or LOG_LEVEL=DEBUG) to see the traceback"
LOCAL_HINT = "on the local stack: is it up (make up), and is .local/stack.env sourced?"


class UsageError(ValueError):
    """Input a command cannot use (a target, a date, a name); the message says what is expected."""


def guarded(run: Callable[[], int], *, debug: Callable[[], bool] = bool,
            key: Callable[[], str] = str) -> int:
    """`run()`'s exit code; when it raises, one line on stderr and the code `explain` gives (with
    the traceback before it when `debug()`). `key()` is the Hub API key, taken out of the line.
    stdout is flushed inside, so that a reader gone before the last line is seen here too."""
    try:
        code = run()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _pipe_closed()
    except KeyboardInterrupt:
        _say("interrupted", key())
        return exit_codes.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the point: every error gets one line, not a traceback
        line, code = explain(exc)
        if debug():
            traceback.print_exc(file=sys.stderr)
        elif code == exit_codes.INTERNAL:
            line = f"{line}; {DEBUG_HINT}"
        _say(line, key())
        return code


def explain(exc: BaseException) -> tuple[str, int]:
    """(one line naming what to fix, exit code) for an exception a command raised."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    if isinstance(exc, ConfigError):
        return f"FAIL configuration: {exc}", exit_codes.USAGE
    if isinstance(exc, (CliEnvError, UsageError)):
        return str(exc), exit_codes.USAGE
    if isinstance(exc, auth.DefaultCredentialsError):
        return ("no Google credentials: run `gcloud auth application-default login` (or set "
                f"GOOGLE_APPLICATION_CREDENTIALS to a service account's key file); {LOCAL_HINT}"), \
            exit_codes.UNREACHABLE
    if isinstance(exc, auth.GoogleAuthError):  # a refresh refused (a revoked or expired login) or unreachable
        return (f"Google credentials could not be used ({_first_line(exc)}): run `gcloud auth application-default "
                "login` again, or check the network"), exit_codes.UNREACHABLE
    if isinstance(exc, api.NotFound):
        return _not_found(exc), exit_codes.USAGE
    if isinstance(exc, (api.Forbidden, api.Unauthorized, api.PermissionDenied, api.Unauthenticated)):
        return (f"Google Cloud refused access ({_first_line(exc)}): the account in use (`gcloud auth "
                "application-default login`, or the service account) needs a role on it"), exit_codes.UNREACHABLE
    if isinstance(exc, api.GoogleAPIError):
        cause = getattr(exc, "cause", None)  # a RetryError's last failure
        last = f"; last: {type(cause).__name__}" if cause is not None else ""
        return (f"GCS or Pub/Sub did not answer ({_first_line(exc)}{last}): check the network and "
                f"GOOGLE_CLOUD_PROJECT; {LOCAL_HINT}"), exit_codes.UNREACHABLE
    if isinstance(exc, HubNotFoundError):
        return (f"the Hub has no such project or object ({exc.message}): check the project id (--project, "
                "HUB_PROJECT_ID, HUB_ROUTES) and that the API key's organization holds it"), exit_codes.USAGE
    if isinstance(exc, HubAuthError):
        return (f"the Hub refused the API key ({exc.message}): check HUB_API_KEY, --api-key-file or "
                "--api-key-secret"), exit_codes.UNREACHABLE
    if isinstance(exc, HubError):
        return f"the Hub did not answer as expected ({exc.message}): check HUB_API_URL and try again", \
            exit_codes.UNREACHABLE
    if _is_connection_error(exc):
        return (f"a connection failed ({type(exc).__name__}: {_first_line(exc)}): check the network; "
                f"{LOCAL_HINT}"), exit_codes.UNREACHABLE
    return f"unexpected error: {type(exc).__name__}: {_first_line(exc)}", exit_codes.INTERNAL


def _not_found(exc) -> str:
    """A GCS 404 names its bucket in the URL (…/b/BUCKET/…); Pub/Sub's names the resource."""
    bucket = re.search(r"/b/([^/?\s]+)", str(exc))
    if bucket:
        return (f"bucket {bucket.group(1)} does not exist (or this account cannot see it): check the gs:// "
                "target, LANDING_BUCKET and STATE_BUCKET")
    return (f"not found in Google Cloud ({_first_line(exc)}): check PUBSUB_TOPIC, PUBSUB_SUBSCRIPTION, "
            "DEAD_LETTER_TOPIC and GOOGLE_CLOUD_PROJECT")


def _is_connection_error(exc: BaseException) -> bool:
    try:
        import requests
    except ImportError:  # pragma: no cover - requests comes with google-cloud-storage
        return isinstance(exc, (ConnectionError, TimeoutError))
    return isinstance(exc, (ConnectionError, TimeoutError, requests.exceptions.RequestException))


def _first_line(exc: BaseException) -> str:
    text = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).strip()
    text = text.splitlines()[0] if text else ""
    return text if len(text) <= LINE_LIMIT else text[:LINE_LIMIT] + "…"


def _say(line: str, key: str) -> None:
    # (A "key" of a few characters is no secret, and masking it would mask every word that holds them.)
    text = Redactor(key).redact(line) if len(key) >= PIECE else line
    print(for_terminal(text), file=sys.stderr, flush=True)


def _pipe_closed() -> int:
    """The reader went away (`status | head -1`): as the Python docs advise, point stdout at
    /dev/null so that the interpreter's last flush at exit raises nothing, and end quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a descriptor (a test's capture)
        pass
    return exit_codes.BROKEN_PIPE
