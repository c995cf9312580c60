"""The Hub API client: imports at the Hub's pace, and never the same asset twice.

Everything this module knows of the Hub's API (paths, shapes, which status means what, how a
400 names a bad asset) is written here once, from ../shared/hub-api.md; the guesses that the
public material leaves open are marked GUESS so they are easy to find and correct.

Promises:
- Every call goes through one `Pacer`, so a burst of work is spread at the configured
  requests-per-minute instead of provoking 429s; a 429's `Retry-After` holds every caller.
- Connection errors, timeouts, 429 and 5xx are retried with exponential backoff and full
  jitter until the caller's deadline; 400, 401, 403 and 404 are not, and raise typed errors.
- An import whose outcome is unknown (a timeout or a reset after the body went out, or a 5xx
  that may follow a partial commit) is never blindly re-sent: the client first asks the Hub
  which of those externalIds it already holds, created since the request went out, and
  re-sends only the others. If the deadline comes first, `HubOutcomeUnknownError` says which
  assets are undecided and since when, so that a later run can settle them with `reconcile`.
- The API key lives in one request header and nowhere else: not in a URL, an exception text
  or a log line.
"""
from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Callable, Iterable, Sequence

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .assets import Asset
from .logs import log

logger = logging.getLogger(__name__)

# The Hub's paths, all under the base URL (which has no /v2).
IMPORT_PATH = "/v2/project/{project}/cloud"
ASSETS_PATH = "/v2/project/{project}/assets"
PROJECT_PATH = "/v2/project/{project}"
BATCHES_PATH = "/v2/batches/{project}"
STORAGES_PATH = "/v2/storages"
LIST_LIMIT = 100  # the most a list call returns per page
HUB_HOSTS = {"eu": "https://imeritapi.ango.ai", "us": "https://us-api.ango.ai",
             "in": "https://in-api.ango.ai", "test": "https://testapi.ango.ai"}

# GUESS: the public docs do not show the Hub's 400 text; we read `assets[<i>]` in it as the
# index of a bad asset (the stand-in writes it so). When none is named, the caller bisects.
_ASSET_INDEX = re.compile(r"assets\[(\d+)\]")
# How far the Hub's createdAt may run behind our clock, beyond the offset its Date header
# shows (which has one-second resolution), when we ask what an unknown-outcome import stored.
CLOCK_MARGIN_S = 2.0


class HubError(Exception):
    """A Hub call that failed. `status` is the HTTP status (0 when there was no answer)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.message = message
        self.status = status


class HubRejectedError(HubError):
    """400: the Hub refused the request as invalid. Not retried.

    `indexes` are the positions in `assets` (the assets of the refused request) that the
    Hub's message names; empty when it names none. `result` is what this call did get in.
    """

    def __init__(self, message: str, assets: Sequence[Asset] = (), result: "ImportResult | None" = None):
        super().__init__(message, 400)
        self.assets = list(assets)
        self.indexes = sorted({int(i) for i in _ASSET_INDEX.findall(message) if int(i) < len(self.assets)})
        self.result = result


class HubAuthError(HubError):
    """401 or 403: the API key is missing, wrong, or may not do this. Not retried."""


class HubNotFoundError(HubError):
    """404: no such project (or other object). Not retried."""


class HubUnavailableError(HubError):
    """Retryable failures (errors, 429s, 5xx, timeouts) lasted past the caller's deadline.

    `result`, when an import raised it, is what that import did get in before giving up.
    """

    def __init__(self, message: str, status: int = 0, result: "ImportResult | None" = None):
        super().__init__(message, status)
        self.result = result


class HubOutcomeUnknownError(HubUnavailableError):
    """The deadline came while the Hub may or may not hold `assets`, sent at `sent_at`.

    `sent_at` is wall-clock seconds (time.time()) just before the first undecided request;
    pass it to `HubClient.reconcile` later. `result` is what this call knows got in.
    """

    def __init__(self, message: str, assets: Sequence[Asset], sent_at: float, result: "ImportResult"):
        super().__init__(message, 0, result)
        self.assets = list(assets)
        self.sent_at = sent_at


@dataclass
class ImportResult:
    """What one `import_assets` call did: assets the Hub accepted from us, assets found there
    already after an unknown outcome (not sent again), and how many calls it took."""

    sent: list[Asset] = field(default_factory=list)
    found: list[Asset] = field(default_factory=list)
    calls: int = 0


class _Transient(Exception):
    """One attempt failed in a way worth retrying. `unknown`: the Hub may have acted on it."""

    def __init__(self, detail: str, unknown: bool, retry_after: float | None = None, status: int = 0):
        super().__init__(detail)
        self.unknown = unknown
        self.retry_after = retry_after
        self.status = status


class Pacer:
    """Spaces calls evenly at `per_minute` (0: no pacing), for every thread of the process.

    Even spacing, with a small margin, never puts more than `per_minute` calls in any
    60-second window, whether the Hub counts in fixed or sliding windows.
    """

    def __init__(self, per_minute: float, margin: float = 0.02,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.interval = 60.0 / per_minute * (1 + margin) if per_minute else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, deadline: float) -> bool:
        """Take the next slot and sleep until it. False, taking nothing, if it is past `deadline`."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            if slot > deadline:
                return False
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)
        return True

    def hold(self, seconds: float) -> None:
        """No call before `seconds` from now (the Hub said Retry-After)."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


class HubClient:
    """A client for one Hub account (one API key). Safe to share between threads."""

    def __init__(self, base_url: str, api_key: str, *, requests_per_minute: float = 100,
                 connect_timeout: float = 5.0, read_timeout: float = 60.0,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, default_budget: float = 300.0,
                 rng: random.Random | None = None):
        self.base_url = base_url.rstrip("/")
        self.pacer = Pacer(requests_per_minute)
        self.timeout = (connect_timeout, read_timeout)
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.default_budget = default_budget
        self.calls = 0  # every request this client made, for summaries and benchmarks
        self._thread = threading.local()  # .calls: the requests made by the current thread
        self._rng = rng or random.Random()
        self._clock_offset = 0.0  # Hub clock minus ours, from the Date header (>= the truth - 1 s)
        self._batches: dict[str, dict[str, str]] = {}  # project -> batch name -> id
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._session.headers.update({"apikey": api_key, "Content-Type": "application/json",
                                      "Accept": "application/json"})

    def __repr__(self) -> str:  # never the key
        return f"HubClient({self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    # -- one attempt -----------------------------------------------------------------------
    def _attempt(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
                 deadline: float) -> dict:
        """Make one paced request. Returns the JSON answer of a 2xx, raises a typed HubError for
        a final failure and _Transient for a retryable one."""
        if not self.pacer.wait(deadline):
            raise _Transient("no request slot left before the deadline", unknown=False)
        with self._lock:
            self.calls += 1
        self._thread.calls = self._thread_calls() + 1
        try:
            response = self._session.request(method, self.base_url + path, params=params,
                                             data=None if body is None else json.dumps(body),
                                             timeout=self.timeout)
        except requests.ConnectionError as exc:
            # Refused or never connected: the request did not go out. Anything else (a reset,
            # a closed connection, a read timeout) may have come after the Hub acted on it.
            never_sent = isinstance(exc, requests.ConnectTimeout) or _caused_by(
                exc, (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError))
            raise _Transient(f"{type(exc).__name__} on {method} {path}", unknown=not never_sent) from None
        except requests.Timeout:
            raise _Transient(f"read timeout on {method} {path}", unknown=True) from None
        self._note_clock(response)
        status = response.status_code
        if 200 <= status < 300:
            try:
                return response.json()
            except ValueError:
                raise _Transient(f"{status} with a body that is not JSON on {method} {path}",
                                 unknown=True, status=status) from None
        message = _message(response)
        if status == 429:
            raise _Transient(f"429 on {method} {path}: {message}", unknown=False,
                             retry_after=_retry_after(response), status=429)
        if status >= 500:
            raise _Transient(f"{status} on {method} {path}: {message}", unknown=True,
                             retry_after=_retry_after(response), status=status)
        if status == 400:
            raise HubRejectedError(message)
        if status in (401, 403):
            raise HubAuthError(f"{status} on {method} {path}: {message}", status)
        if status == 404:
            raise HubNotFoundError(f"404 on {method} {path}: {message}", 404)
        raise HubError(f"{status} on {method} {path}: {message}", status)

    def _backoff(self, failure: _Transient, attempt: int, deadline: float) -> bool:
        """Sleep before the next attempt; False (without sleeping) if that would pass the deadline."""
        delay = self._rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** attempt))
        if failure.retry_after is not None:
            delay = max(delay, failure.retry_after)
            self.pacer.hold(failure.retry_after)
        if time.monotonic() + delay >= deadline:
            return False
        log(logger, logging.WARNING, "Hub call failed; retrying", reason=str(failure),
            attempt=attempt + 1, retry_in_s=round(delay, 2))
        time.sleep(delay)
        return True

    def _call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
              deadline: float | None = None) -> dict:
        """A request that is safe to repeat, retried until it succeeds, fails for good, or the deadline."""
        deadline = self._deadline(deadline)
        attempt = 0
        while True:
            try:
                return self._attempt(method, path, params=params, body=body, deadline=deadline)
            except _Transient as failure:
                if not self._backoff(failure, attempt, deadline):
                    raise HubUnavailableError(f"Hub unavailable until the deadline: {failure}",
                                              failure.status) from None
                attempt += 1

    def _thread_calls(self) -> int:
        return getattr(self._thread, "calls", 0)

    def _deadline(self, deadline: float | None) -> float:
        return time.monotonic() + self.default_budget if deadline is None else deadline

    def _note_clock(self, response: requests.Response) -> None:
        try:
            hub_now = parsedate_to_datetime(response.headers["Date"]).timestamp()
        except (KeyError, TypeError, ValueError):
            return
        self._clock_offset = hub_now - time.time()

    # -- the import --------------------------------------------------------------------------
    def import_assets(self, project: str, assets: Sequence[Asset], *, priority: int = 0,
                      deadline: float | None = None) -> ImportResult:
        """Get `assets` into `project`, each exactly once, before `deadline` (time.monotonic()).

        Returns what was sent and what was found already there after an unknown outcome.
        Raises HubRejectedError (400; `.indexes` name the bad assets when the Hub says),
        HubAuthError, HubNotFoundError, or HubOutcomeUnknownError / HubUnavailableError when
        the deadline comes first (the former when the Hub may hold some of them).
        """
        deadline = self._deadline(deadline)
        result = ImportResult()
        calls_before = self._thread_calls()
        pending = list(assets)
        unknown_since: float | None = None  # wall time before the first request of unknown outcome
        attempt = 0
        try:
            while pending:
                if unknown_since is not None:
                    found, pending = self._settle(project, pending, unknown_since, deadline, result)
                    result.found.extend(found)
                    unknown_since = None
                    if not pending:
                        break
                body = {"assets": [a.to_json() for a in pending], "uploadLocal": "false",
                        "priority": priority}
                sent_at = time.time()
                try:
                    self._attempt("POST", IMPORT_PATH.format(project=project), body=body, deadline=deadline)
                except _Transient as failure:
                    if failure.unknown:
                        unknown_since = sent_at
                    if not self._backoff(failure, attempt, deadline):
                        raise self._gave_up(failure, pending, unknown_since, result) from None
                    attempt += 1
                    continue
                except HubRejectedError as exc:
                    raise HubRejectedError(exc.message, pending, result) from None
                result.sent.extend(pending)
                pending = []
        finally:
            result.calls = self._thread_calls() - calls_before
        return result

    def _settle(self, project: str, pending: list[Asset], since: float, deadline: float,
                result: ImportResult) -> tuple[list[Asset], list[Asset]]:
        """Split `pending` into (already in the Hub, still to send), or raise HubOutcomeUnknownError."""
        try:
            present = self.existing_external_ids(project, {a.external_id for a in pending},
                                                 since=since, deadline=deadline)
        except HubUnavailableError as exc:
            raise HubOutcomeUnknownError(f"could not learn what the Hub stored: {exc}", pending, since,
                                         result) from None
        found = [a for a in pending if a.external_id in present]
        if found:
            log(logger, logging.INFO, "Hub already had assets of an import whose answer was lost",
                project=project, found=len(found), resending=len(pending) - len(found))
        return found, [a for a in pending if a.external_id not in present]

    def _gave_up(self, failure: _Transient, pending: list[Asset], unknown_since: float | None,
                 result: ImportResult) -> HubUnavailableError:
        if unknown_since is not None:
            return HubOutcomeUnknownError(f"Hub answer lost and deadline reached: {failure}", pending,
                                          unknown_since, result)
        return HubUnavailableError(f"Hub unavailable until the deadline: {failure}", failure.status, result)

    def reconcile(self, project: str, assets: Sequence[Asset], *, since: float,
                  deadline: float | None = None) -> tuple[list[Asset], list[Asset]]:
        """For assets whose import outcome is unknown since `since` (wall time): (in the Hub, not)."""
        present = self.existing_external_ids(project, {a.external_id for a in assets}, since=since,
                                             deadline=deadline)
        return ([a for a in assets if a.external_id in present],
                [a for a in assets if a.external_id not in present])

    def existing_external_ids(self, project: str, external_ids: Iterable[str], *, since: float,
                              deadline: float | None = None) -> set[str]:
        """Which of `external_ids` the Hub holds as assets created at or after `since` (wall time).

        Pages through the newest assets while that costs fewer calls than asking per id, then
        asks per id for the rest: at most about 2 x len(external_ids) calls, usually 1 or 2.
        """
        deadline = self._deadline(deadline)
        wanted = set(external_ids)
        cutoff = since + self._clock_offset - CLOCK_MARGIN_S
        found: set[str] = set()
        path = ASSETS_PATH.format(project=project)
        page = 1
        while len(wanted - found) > 1 and page <= len(wanted - found):
            rows = self._list(path, page, {}, deadline)
            older = False
            for row in rows:
                if _created_at(row) < cutoff:
                    older = True
                    break
                if row.get("externalId") in wanted:
                    found.add(row["externalId"])
            if older or len(rows) < LIST_LIMIT or found == wanted:
                return found
            page += 1
        for external_id in sorted(wanted - found):
            rows = self._list(path, 1, {"externalId": external_id}, deadline)
            if any(_created_at(row) >= cutoff for row in rows):
                found.add(external_id)
        return found

    def _list(self, path: str, page: int, filters: dict, deadline: float) -> list[dict]:
        answer = self._call("GET", path, params={"page": page, "limit": LIST_LIMIT, "sort": "-createdAt",
                                                 "filters": json.dumps(filters)}, deadline=deadline)
        return answer["data"]["assets"]

    # -- reads and set-up ---------------------------------------------------------------------
    def list_assets(self, project: str, *, page: int = 1, limit: int = LIST_LIMIT, filters: dict | None = None,
                    sort: str = "-createdAt", deadline: float | None = None) -> tuple[list[dict], int]:
        """One page of a project's assets, newest first by default, and the total that match."""
        answer = self._call("GET", ASSETS_PATH.format(project=project),
                            params={"page": page, "limit": limit, "sort": sort,
                                    "filters": json.dumps(filters or {})}, deadline=deadline)
        return answer["data"]["assets"], answer["data"].get("total", 0)

    def storages(self, deadline: float | None = None) -> list[dict]:
        """The account's storage integrations."""
        return self._call("GET", STORAGES_PATH, deadline=deadline)["data"]["storages"]

    def project(self, project: str, deadline: float | None = None) -> dict:
        """The project, with its batches ({_id, name})."""
        return self._call("GET", PROJECT_PATH.format(project=project), deadline=deadline)["data"]["project"]

    def batch_ids(self, project: str, names: Sequence[str], *, create: bool = False,
                  deadline: float | None = None) -> tuple[str, ...]:
        """The ids of batches named `names` in `project`, looked up once per process and cached.

        A missing batch is created when `create` is set, else HubNotFoundError names it.
        """
        if not names:
            return ()
        known = self._batches.get(project)
        if known is None or any(n not in known for n in names):
            known = self._load_batches(project, deadline)
        missing = [n for n in names if n not in known]
        if missing and not create:
            raise HubNotFoundError(f"batch {missing[0]!r} does not exist in project {project}; "
                                   f"create it in the Hub or allow creating batches", 404)
        for name in missing:
            try:
                self._attempt("POST", BATCHES_PATH.format(project=project), body={"name": name},
                              deadline=self._deadline(deadline))
            except _Transient as failure:
                # Creating is not safe to repeat blindly; the re-read below tells what happened.
                log(logger, logging.WARNING, "creating a batch failed; checking the project",
                    project=project, batch=name, reason=str(failure))
            known = self._load_batches(project, deadline)
            if name not in known:
                raise HubUnavailableError(f"could not create batch {name!r} in project {project}")
            log(logger, logging.INFO, "created batch", project=project, batch=name, batch_id=known[name])
        return tuple(known[n] for n in names)

    def _load_batches(self, project: str, deadline: float | None) -> dict[str, str]:
        batches = {b["name"]: b["_id"] for b in self.project(project, deadline).get("batches", [])}
        self._batches[project] = batches
        return batches


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
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return body["message"]
    except ValueError:
        pass
    return response.text[:500] or response.reason or ""


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _created_at(row: dict) -> float:
    try:
        return datetime.fromisoformat(str(row.get("createdAt", "")).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("inf")  # unreadable: count it as recent, so an asset is never sent twice
