"""The Hub API client: what each call sends and what its answer means.

Everything this module knows of the Hub's API (paths, shapes) is written here once, from
../shared/hub-api.md; what the public material leaves open is in quirks.py.

Promises:
- Every call goes through one `Pacer` (transport.py), so a burst is spread at the configured
  requests-per-minute; a 429 holds every caller, with or without Retry-After.
- Reads are retried with backoff until the caller's deadline.
- An import is sent once per call. It is retried only after failures that surely stored nothing
  (429, a refused connection). Any other failure raises a typed error at once; one whose outcome
  is unknown (`HubOutcomeUnknownError`) must not be re-sent before it is settled (reconcile.py).
- The API key lives in one request header and nowhere else.
"""
from __future__ import annotations

import json
import logging
import random
import unicodedata
from hub_import.core import clock
from dataclasses import dataclass
from typing import Callable, Sequence
from urllib.parse import quote

from hub_import.core.assets import Asset
from hub_import.core.hub_quirks import LIST_SORT, STORAGES_READ_ON, SUCCESS_STATUS, Behaviour
from hub_import.core.logs import log

from .batches import BatchIds, BatchRun
from .errors import HubOutcomeUnknownError, HubRejectedError, HubUnavailableError
from .reconcile import Progress, Reconcile
from .transport import NotStored, Retryable, Transport, Unknown, data_of

logger = logging.getLogger(__name__)

# The Hub's paths, all under the base URL (which has no /v2).
IMPORT_PATH = "/v2/project/{project}/cloud"
ASSETS_PATH = "/v2/project/{project}/assets"
PROJECT_PATH = "/v2/project/{project}"
BATCHES_PATH = "/v2/batches/{project}"
STORAGES_PATH = "/v2/storages"
LIST_LIMIT = 100  # the most a list call returns per page (documented)


def project_path(template: str, project: str) -> str:
    """`template` (one of the paths above) with `project` as one URL path segment, percent-encoded
    (`/`, `?`, `#` and `%` included), so that no project id reaches another endpoint
    (`demo-project/../../storages#` once sent the key to POST /v2/storages). HubRejectedError,
    before any request, for an id that cannot be a segment: empty, `.` or `..` (dot segments that
    URL normalization removes even when encoded), or holding a control character. Storage ids and
    batch names never enter a path: they go in query parameters and bodies, which `requests` encodes."""
    if (not isinstance(project, str) or project.strip() in ("", ".", "..")
            or any(unicodedata.category(c) == "Cc" for c in project)):
        raise HubRejectedError(f"project id {project!r:.80} cannot be put in a Hub URL path; no request sent")
    return template.format(project=quote(project, safe=""))


@dataclass
class ImportResult:
    """What one `import_assets` call did: the assets the Hub accepted, and the calls it took."""

    sent: list[Asset]
    calls: int


class HubClient:
    """A client for one Hub account (one API key). Safe to share between threads."""

    list_limit = LIST_LIMIT

    def __init__(self, base_url: str, api_key: str, *, requests_per_minute: float = 100,
                 connect_timeout: float = 5.0, read_timeout: float = 60.0,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, default_budget: float = 300.0,
                 rng: random.Random | None = None):
        self.transport = Transport(base_url, api_key, requests_per_minute=requests_per_minute,
                                   connect_timeout=connect_timeout, read_timeout=read_timeout,
                                   backoff_base=backoff_base, backoff_cap=backoff_cap,
                                   default_budget=default_budget, rng=rng)
        self.base_url = self.transport.base_url
        self.behaviour = Behaviour()
        self.batches = BatchIds(self.project, self.create_batch, self.transport.thread_calls)

    def __repr__(self) -> str:  # never the key
        return f"HubClient({self.base_url!r})"

    @property
    def calls(self) -> int:
        return self.transport.calls

    @property
    def pacer(self):
        return self.transport.pacer

    def close(self) -> None:
        self.transport.close()

    # -- the import --------------------------------------------------------------------------
    def import_assets(self, project: str, assets: Sequence[Asset], *, priority: int = 0,
                      deadline: float | None = None) -> ImportResult:
        """Send `assets` to `project` in one import request (retried only while surely not stored).

        Raises HubRejectedError (400; `.assets` are these, `.indexes` the ones named),
        HubTooLargeError (413), HubAuthError, HubNotFoundError, HubGeofencedError,
        HubRedirectError, HubUnavailableError (nothing stored, deadline reached) or
        HubOutcomeUnknownError (the Hub may hold any of them; settle before sending again).
        """
        t = self.transport
        deadline = t.deadline(deadline)
        calls_before = t.thread_calls()
        body = {"assets": [a.to_json() for a in assets], "uploadLocal": "false", "priority": priority}
        try:
            answer, sent_at = self._once("POST", project_path(IMPORT_PATH, project), body, deadline, "import", assets)
        except HubRejectedError as exc:
            raise HubRejectedError(exc.message, assets) from None
        problem = _import_answer_problem(answer, len(assets), t.said)
        if problem:
            raise HubOutcomeUnknownError(f"import outcome unknown: {problem}", assets, sent_at)
        return ImportResult(list(assets), t.thread_calls() - calls_before)

    def _once(self, method: str, path: str, body: dict, deadline: float, what: str, items) -> tuple[dict, float]:
        """One request that must not act twice: retried only while surely not acted on (NotStored),
        at once HubOutcomeUnknownError (naming `items`) when it may have been. (answer, Hub time sent)."""
        t = self.transport
        attempt = 0
        while True:
            sent_at = self.hub_time()
            try:
                return t.attempt(method, path, body=body, deadline=deadline), sent_at
            except Unknown as failure:
                raise HubOutcomeUnknownError(f"{what} outcome unknown: {failure}", items, sent_at,
                                             failure.status) from None
            except NotStored as failure:
                if not t.backoff(failure, attempt, deadline):
                    raise HubUnavailableError(f"Hub unavailable until the deadline: {failure}",
                                              failure.status) from None
                attempt += 1

    def hub_time(self) -> float:
        """Now on the Hub's clock (ours corrected by its Date header): how `since` is always kept."""
        return clock.now() + self.transport.clock_offset

    def reconcile(self, project: str, wanted: dict[str, str | None] | set[str], *, since: float | None,
                  progress: Progress, max_calls: int, deadline: float | None = None) -> bool:
        """Learn which of `wanted` (externalId -> the data URL sent; or a set of externalIds) the
        Hub holds, created since `since` (Hub time), into `progress`; see reconcile.py."""
        return Reconcile(self, project, _as_map(wanted), since, progress, max_calls,
                         self.transport.deadline(deadline)).run()

    def copies(self, project: str, wanted: dict[str, str | None] | set[str], *, since: float | None,
               max_calls: int, progress: Progress | None = None, found: dict | None = None,
               deadline: float | None = None) -> dict[str, list[dict]] | None:
        """Every asset row the Hub holds for each of `wanted` created since `since` (all of them
        when their order cannot be proven); None if `max_calls` was not enough (then `progress`
        and `found`, when given, hold how far it got, to go on from)."""
        found = {} if found is None else found
        done = Reconcile(self, project, _as_map(wanted), since, progress or Progress(), max_calls,
                         self.transport.deadline(deadline), copies=found).run()
        return {k: list(v.values()) for k, v in found.items()} if done else None

    # -- reads ----------------------------------------------------------------------------------
    def list_assets(self, project: str, *, page: int = 1, limit: int = LIST_LIMIT, filters: dict | None = None,
                    deadline: float | None = None) -> tuple[list[dict], int]:
        """One page of a project's assets (in whatever order the Hub lists them), and the total."""
        params = {"page": page, "limit": limit, "sort": LIST_SORT}
        if filters:
            params["filters"] = json.dumps(filters)
        answer = self.transport.call("GET", project_path(ASSETS_PATH, project), params=params, deadline=deadline)
        rows = data_of(answer, "assets", kind=list, what="asset listing")
        total = answer["data"].get("total")
        rows = [r for r in rows if isinstance(r, dict)]
        return rows, total if isinstance(total, int) else len(rows) + (page - 1) * limit

    def ping(self, deadline: float | None = None) -> None:
        """The cheapest authenticated call: raises HubError unless the Hub answers."""
        self.transport.call("GET", STORAGES_PATH, params={"page": 1, "limit": 1}, deadline=deadline)

    def storage(self, storage_id: str, deadline: float | None = None) -> dict | None:
        """One storage integration by id (as the SDK asks), or None."""
        answer = self.transport.call("GET", STORAGES_PATH, params={"_id": storage_id}, deadline=deadline)
        rows = data_of(answer, "storages", kind=list, what="storage listing")
        return next((s for s in rows if isinstance(s, dict) and s.get("_id") == storage_id), None)

    def storages(self, deadline: float | None = None) -> list[dict]:
        """Every storage integration of the account, page by page (the default page is 10). Reads
        on until a page brings nothing new or is shorter than the longest seen (STORAGES_READ_ON)."""
        found: dict[str, dict] = {}
        page, longest = 1, 0
        while True:
            answer = self.transport.call("GET", STORAGES_PATH, params={"page": page, "limit": LIST_LIMIT},
                                         deadline=deadline)
            rows = [s for s in data_of(answer, "storages", kind=list, what="storage listing") if isinstance(s, dict)]
            new = {s.get("_id"): s for s in rows if s.get("_id") not in found}
            found.update(new)
            longest = max(longest, len(rows))
            if not new or len(rows) < (longest if STORAGES_READ_ON else LIST_LIMIT):
                return list(found.values())
            page += 1

    def project(self, project: str, deadline: float | None = None) -> dict:
        """The project, with its batches ({_id, name})."""
        answer = self.transport.call("GET", project_path(PROJECT_PATH, project), deadline=deadline)
        return data_of(answer, "project", what="project")

    def delete_assets(self, project: str, asset_ids: Sequence[str], deadline: float | None = None) -> None:
        """Soft-delete assets by `_id` (as the SDK's delete_assets does); safe to repeat."""
        self.transport.call("DELETE", project_path(ASSETS_PATH, project),
                            body={"project": project, "assets": list(asset_ids)}, deadline=deadline)

    def soft_delete(self, project: str, asset_ids: Sequence[str], *, deadline: float | None = None) -> None:
        """Soft-delete assets by `_id` in one request, retried only while surely not acted on (429,
        a refused connection). HubOutcomeUnknownError when the Hub may have acted (a timeout, a
        reset, a 5xx, an answer we cannot read): list the assets again before deleting again, as
        ids no longer live may be refused (the `delete_unknown_ids` guess). Otherwise as
        `import_assets`: HubRejectedError (400), HubAuthError, HubNotFoundError, HubUnavailableError."""
        t = self.transport
        deadline = t.deadline(deadline)
        body = {"project": project, "assets": list(asset_ids)}
        answer, sent_at = self._once("DELETE", project_path(ASSETS_PATH, project), body, deadline, "delete", asset_ids)
        status = answer.get("status")
        if status is not None and status != SUCCESS_STATUS:
            raise HubOutcomeUnknownError(f"delete outcome unknown: a 2xx answer with status {t.said(status, 20)!r}",
                                         asset_ids, sent_at)

    def batch_ids(self, project: str, names: Sequence[str], *, create: bool = False,
                  deadline: float | None = None, before_create: Callable[[str], None] | None = None,
                  run: BatchRun | None = None) -> tuple[str, ...]:
        """The ids of batches named `names` in `project`, kept for the process (batches.py).

        A missing batch is created when `create` is set, else HubNotFoundError names it.
        `before_create(name)`, when given, is called for each missing name before any is created;
        what it raises stops them all (the cap on batches a template makes). `run` is the caller's
        (a flush): its project reads are not repeated for names still missing, its calls counted.
        """
        return self.batches.ids(project, names, create=create, deadline=deadline, before_create=before_create,
                                run=run if run is not None else BatchRun())

    def prepare_batches(self, project: str, wanted: Sequence[tuple[Sequence[str], Callable[[str], None] | None]], *,
                        create: bool = False, deadline: float | None = None, run: BatchRun | None = None) -> None:
        """Create the missing batches of several destinations of `project` (each its names and its
        `before_create`) with one project read after all of them (batches.py `prepare`)."""
        self.batches.prepare(project, wanted, create=create, deadline=deadline,
                             run=run if run is not None else BatchRun())

    def create_batch(self, project: str, name: str, deadline: float | None = None) -> None:
        """POST one batch, once: a failure that is not an answer is only logged, since creating is
        not safe to repeat blindly; the caller reads the project to learn what happened."""
        try:
            self.transport.attempt("POST", project_path(BATCHES_PATH, project), body={"name": name},
                                   deadline=self.transport.deadline(deadline))
        except Retryable as failure:
            log(logger, logging.WARNING, "creating a batch failed; checking the project",
                project=project, batch=name, reason=str(failure))


def _as_map(wanted) -> dict[str, str | None]:
    return dict(wanted) if isinstance(wanted, dict) else {e: None for e in wanted}


def _import_answer_problem(answer: dict, sent: int, said: Callable[..., str]) -> str | None:
    """Why a 2xx import answer does not prove that all `sent` assets were stored (None if it does);
    what the Hub said in it only through `said` (Transport.said: the key taken out, then cut)."""
    status = answer.get("status")
    if status is not None and status != SUCCESS_STATUS:
        return f"a 2xx answer with status {said(status, 20)!r}: {said(answer.get('message', ''), 200)}"
    counts = answer.get("data", {}).get("assets") if isinstance(answer.get("data"), dict) else None
    created = counts.get("assetsCreated") if isinstance(counts, dict) else None
    if isinstance(created, int) and not isinstance(created, bool) and created < sent:
        return f"the Hub says it created {created} of {sent} assets"
    return None
