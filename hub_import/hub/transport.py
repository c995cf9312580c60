"""One request to the Hub, and what its answer means.

`Transport.attempt` makes one paced request and returns the JSON body of a 2xx, or raises:
a typed HubError for a final answer, `NotStored` for a retryable failure that surely stored
nothing, `Unknown` for one that may have (quirks.py says which is which). `Transport.call`
retries a read (safe to repeat) until it succeeds, fails for good, or the deadline comes.
The API key lives in one session header; redirects are never followed, so it cannot reach
another host, and it never appears in a URL, an exception text or a log line: whatever the Hub
answered becomes text only through `Transport.said` (redact.py), here and in client.py.
"""
from __future__ import annotations

import json
import logging
import random
import threading
from hub_import.core import clock
from email.utils import parsedate_to_datetime

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from hub_import.core.hub_quirks import NOT_STORED_STATUSES
from hub_import.core.logs import log

from .errors import (HubAuthError, HubError, HubGeofencedError, HubNotFoundError, HubRedirectError, HubRejectedError,
                     HubTooLargeError, HubUnavailableError)
from .pacer import Pacer
from .redact import Redactor

logger = logging.getLogger(__name__)


class Retryable(Exception):
    """One attempt failed in a way worth trying again."""

    def __init__(self, detail: str, retry_after: float | None = None, status: int = 0):
        super().__init__(detail)
        self.retry_after = retry_after
        self.status = status


class NotStored(Retryable):
    """The Hub surely did not act on the request (429, never connected)."""


class Unknown(Retryable):
    """The Hub may have acted on the request (timeout, reset, 5xx, odd status or body)."""


class Transport:
    def __init__(self, base_url: str, api_key: str, *, requests_per_minute: float = 100,
                 connect_timeout: float = 5.0, read_timeout: float = 60.0, backoff_base: float = 0.5,
                 backoff_cap: float = 30.0, default_budget: float = 300.0, rng: random.Random | None = None):
        self.base_url = base_url.rstrip("/")
        self.pacer = Pacer(requests_per_minute)
        self.timeout = (connect_timeout, read_timeout)
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.default_budget = default_budget
        self.calls = 0  # every request made, for summaries and benchmarks
        self.clock_offset = 0.0  # Hub clock minus ours, from the Date header (>= the truth - 1 s)
        self._thread = threading.local()
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._session = requests.Session()
        # The one door from a Hub answer to text (redact.py): errors, logs and manifests never see the key.
        self.said = Redactor(api_key).said
        self._session.headers.update({"apikey": api_key, "Content-Type": "application/json",
                                      "Accept": "application/json"})

    def close(self) -> None:
        self._session.close()

    def thread_calls(self) -> int:
        """Requests made by the calling thread (so a caller can count its own among others')."""
        return getattr(self._thread, "calls", 0)

    def deadline(self, deadline: float | None) -> float:
        return clock.monotonic() + self.default_budget if deadline is None else deadline

    def attempt(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
                deadline: float) -> dict:
        """One paced request; the JSON object of a 2xx answer (see the module docstring).
        HubRejectedError, before any request, for a path that could leave the endpoint it names."""
        _check_path(path)
        if not self.pacer.wait(deadline) or clock.monotonic() > deadline:  # (the wait may oversleep)
            raise NotStored("no request slot left before the deadline")
        with self._lock:
            self.calls += 1
        self._thread.calls = self.thread_calls() + 1
        what = f"{method} {path}"
        try:
            response = self._session.request(method, self.base_url + path, params=params,
                                             data=None if body is None else json.dumps(body),
                                             timeout=self.timeout, allow_redirects=False)
            status = response.status_code
            text = response.content  # read the whole body here: a reset mid-body raises here too
        except requests.ConnectionError as exc:
            # Refused or never connected: the request did not go out. Anything else (a reset,
            # a closed connection, a read timeout) may have come after the Hub acted on it.
            if isinstance(exc, requests.ConnectTimeout) or _caused_by(
                    exc, (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError)):
                raise NotStored(f"could not connect for {what}") from None
            raise Unknown(f"{type(exc).__name__} on {what}") from None
        except requests.Timeout:
            raise Unknown(f"read timeout on {what}") from None
        except requests.RequestException as exc:  # ChunkedEncodingError, ContentDecodingError, ...
            raise Unknown(f"{type(exc).__name__} on {what}") from None
        self._note_clock(response)
        if 200 <= status < 300:
            try:
                answer = json.loads(text)
            except ValueError:
                raise Unknown(f"{status} with a body that is not JSON on {what}", status=status) from None
            if not isinstance(answer, dict):
                raise Unknown(f"{status} with a body that is not a JSON object on {what}", status=status)
            return answer
        message = self.said(_message(response))
        if 300 <= status < 400:
            raise HubRedirectError(f"{status} on {what}: the Hub redirects to "
                                   f"{self.said(_host(response.headers.get('Location', '')), 200)}; check HUB_API_URL "
                                   f"(redirects are not followed, so the API key stays with its host)", status)
        if status == 429:
            raise NotStored(f"429 on {what}: {message}", retry_after=_retry_after(response), status=429)
        if status not in NOT_STORED_STATUSES:
            raise Unknown(f"{status} on {what}: {message}", retry_after=_retry_after(response), status=status)
        if status == 400:
            raise HubRejectedError(message)
        if status == 413:
            raise HubTooLargeError(f"413 on {what}: the request is too large")
        if status in (401, 403):
            raise HubAuthError(f"{status} on {what}: {message}", status)
        if status == 404:
            raise HubNotFoundError(f"404 on {what}: {message}", 404)
        if status == 451:
            raise HubGeofencedError(f"451 on {what}: {message}", 451)
        raise HubError(f"{status} on {what}: {message}", status)

    def backoff(self, failure: Retryable, attempt: int, deadline: float) -> bool:
        """Sleep before the next attempt; False (without sleeping) if that would pass the deadline."""
        delay = self._rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** attempt))
        if failure.retry_after is not None:
            delay = max(delay, failure.retry_after)
            self.pacer.hold(failure.retry_after)
        elif failure.status == 429:
            # A 429 without Retry-After: hold every caller for the backoff, not only this one.
            delay = max(delay, self.backoff_base * 2 ** min(attempt, 6))
            self.pacer.hold(delay)
        if clock.monotonic() + delay >= deadline:
            return False
        log(logger, logging.WARNING, "Hub call failed; retrying", reason=str(failure),
            attempt=attempt + 1, retry_in_s=round(delay, 2))
        clock.sleep(delay)
        return True

    def call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
             deadline: float | None = None) -> dict:
        """A request that is safe to repeat, retried until it succeeds, fails for good, or the deadline."""
        deadline = self.deadline(deadline)
        attempt = 0
        while True:
            try:
                return self.attempt(method, path, params=params, body=body, deadline=deadline)
            except Retryable as failure:
                if not self.backoff(failure, attempt, deadline):
                    raise HubUnavailableError(f"Hub unavailable until the deadline: {failure}",
                                              failure.status) from None
                attempt += 1

    def _note_clock(self, response: requests.Response) -> None:
        try:
            hub_now = parsedate_to_datetime(response.headers["Date"]).timestamp()
        except (KeyError, TypeError, ValueError):
            return
        self.clock_offset = hub_now - clock.now()


def data_of(answer: dict, *keys: str, kind: type = dict, what: str = "answer"):
    """answer["data"][keys...], checked to be a `kind`; HubUnavailableError (retry later) if the
    Hub answered in a shape we do not know."""
    node = answer.get("data")
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, kind):
        raise HubUnavailableError(f"the Hub's {what} has an unexpected shape (no data.{'.'.join(keys)})")
    return node


def _caused_by(exc: BaseException, kinds: tuple) -> bool:
    seen = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, kinds):
            return True
        stack.extend([e.__cause__, e.__context__, getattr(e, "reason", None)]
                     + [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)])
    return False


def _message(response: requests.Response) -> str:
    """What an error answer says, whole (Transport.said redacts and cuts it)."""
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return body["message"]
    except ValueError:
        pass
    return (response.text if "json" in response.headers.get("Content-Type", "") else "") \
        or response.reason or ""


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).netloc or "(no host)"
    except ValueError:
        return "(unreadable)"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - clock.now())
        except (TypeError, ValueError):
            return None


def _check_path(path: str) -> None:
    """The last guard before the key goes out: a path under /v2/ whose segments are each what
    client.project_path makes (no `.` or `..`, nothing a URL reads as a query or a fragment, no
    space or control character), so that nothing that slipped past encoding reaches another endpoint."""
    segments = path.split("/")
    if (not path.startswith("/v2/") or any(s in (".", "..") for s in segments)
            or any(c in "?#\\" or c.isspace() or not c.isprintable() for c in path)):
        raise HubRejectedError(f"path {path!r:.120} could leave the Hub endpoint it names; no request sent")
