"""The Hub API key read from Secret Manager by name (`--api-key-secret`), for the CLI.

One REST call (`GET v1/{name}:access`) with application-default credentials, through google-auth
and requests, which the product already carries: no client library more. Nothing the secret holds
is ever part of an error; only its name and what went wrong are.
"""
from __future__ import annotations

import base64
import re

ACCESS_URL = "https://secretmanager.googleapis.com/v1/{name}:access"
# projects/P/secrets/S[/versions/V]; without a version, the latest one.
NAME = re.compile(r"projects/[A-Za-z0-9._:-]+/secrets/[A-Za-z0-9_-]+(/versions/(latest|[0-9]+))?")


class SecretKeyError(ValueError):
    """The secret could not be read; the message names the secret, never what it holds."""


def read_secret_key(name: str, session=None) -> str:
    """The key in the secret version `name`: its one line, without surrounding whitespace.
    `session` is an authorized requests session (default: application-default credentials)."""
    if not NAME.fullmatch(name):
        raise SecretKeyError("--api-key-secret: expected projects/PROJECT/secrets/SECRET[/versions/VERSION] "
                             "(the Terraform output hub_api_key_secret_version)")
    version = name if "/versions/" in name else f"{name}/versions/latest"
    session = session if session is not None else _session()
    try:
        answer = session.get(ACCESS_URL.format(name=version), timeout=30)
    except Exception as exc:  # noqa: BLE001 - any transport failure, named by its type only
        raise SecretKeyError(f"--api-key-secret {version}: Secret Manager did not answer ({type(exc).__name__})") from None
    if answer.status_code != 200:
        raise SecretKeyError(f"--api-key-secret {version}: Secret Manager answered {answer.status_code}"
                             + (" (does this account have roles/secretmanager.secretAccessor on it?)"
                                if answer.status_code in (401, 403) else ""))
    try:
        text = base64.b64decode(answer.json()["payload"]["data"]).decode("utf-8").strip()
    except Exception:  # noqa: BLE001 - an answer of another shape: nothing of it is shown
        raise SecretKeyError(f"--api-key-secret {version}: an answer without a UTF-8 payload") from None
    if not text or "\n" in text or "\r" in text:
        raise SecretKeyError(f"--api-key-secret {version}: expected the key alone, on one line")
    return text


def _session():
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    try:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except Exception as exc:  # noqa: BLE001 - no credentials: say how to get them
        raise SecretKeyError("--api-key-secret: no application-default credentials "
                             f"({type(exc).__name__}); run `gcloud auth application-default login`") from None
    return AuthorizedSession(credentials)
