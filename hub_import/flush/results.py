"""The results topic (RESULTS_TOPIC): one message for each manifest that settles, so that whoever
needs to know when a file is in the Hub (or why it is not) subscribes instead of polling.

A manifest settles when its state becomes final: `sent` (the Hub holds every asset it lists) or
`failed` (the Hub or its destination refused them; `replay --failed` sends them again, in new
manifests that settle in turn). ManifestStore (manifests.py) is the one place that writes a final
state, whoever asks (the flush, a resume, a settle, a replay), and with a `Results` it does so in
this order:
  1. a marker MANIFEST_PREFIX/results/<name> (so a crash from here on leaves it behind),
  2. the final state,
  3. `Results.settled(manifest)`: the message is handed to the Pub/Sub client, not waited for, so
     that a slow or failing Pub/Sub never holds up importing.
At the end of the run `finish(manifests)` waits a bounded time for those publishes and deletes
the marker of each one confirmed; then it publishes again what earlier runs left marked (a run
killed after step 1, or a publish that failed), oldest first. A marker whose manifest is not
final (its state write failed after step 1) is dropped once it is older than a flush's claims.
So each result is published at least once, maybe more; Pub/Sub may deliver it more than once too.
Order is not promised. De-duplicate on the `result_id` attribute: the same result always has the
same `result_id`, and the same body.

The message, JSON in UTF-8 (`generation` is a decimal string, as GCS writes it):

    {"v": 1, "kind": "import", "result_id": "manifests/2026/...-001.json#sent",
     "project": "...", "batches": ["incoming"], "manifest": "manifests/2026/...-001.json",
     "state": "sent" | "failed", "error": null | "the Hub's reason", "at": "2026-11-26T02:18:41Z",
     "counts": {"assets": 2, "sent": 2},
     "assets": [{"object": "gs://landing/a.jpg", "generation": "1764...", "externalId": "a.jpg"}, ...],
     "part": 1, "parts": 1}

with attributes `result_id`, `kind`, `state` and `project` (for subscription filters). A result
of more than MAX_BODY_BYTES of assets comes in `parts` messages, each with every field and its
share of the assets (`result_id` then ends in `#<part>/<parts>`). An import's rows have no asset
ids: the Hub's import answer gives none.

A deletion (ON_DELETE=delete) is told by deletion_results.py, one result per object, before its
messages are acked. Other kinds publish through the same two functions:

    messages(kind="delete", project=P, manifest=<its own record's path>, state="deleted",
             rows=[{"object": "gs://b/n", "generation": "123", "externalId": "n",
                    "assetIds": ["..."], "outcome": "deleted" | "not_found", "error": None}, ...],
             error=None, at=<unix time>, batches=()) -> [(body, attributes), ...]
    publish(publisher, topic_path, **the same) -> bool   (True: Pub/Sub confirmed every part)

`counts` is {"assets": len(rows)} and, per row, its `outcome` (default: `state`). Rows keep
whatever keys they have (`assetIds` when the asset ids are known); `object` and `externalId` are
required. The caller keeps a durable record until `publish` returns True, and publishes the same
arguments again otherwise (`at` included: the time it settled, so that the bytes are the same too):
`result_id` (`<manifest>#<state>`) stays the same.
"""
from __future__ import annotations

import json
import logging
from hub_import.core import clock
from collections import Counter
from datetime import datetime, timezone
from typing import Iterable

from hub_import.core.logs import log
from hub_import.core.text import cut_utf8
from hub_import.state.manifests import FINAL

logger = logging.getLogger(__name__)

VERSION = 1
MAX_BODY_BYTES = 1_000_000  # well under Pub/Sub's 10 MB, and under the client's batch size
# The longest `finish` takes: within the function's timeout after a flush's budget and its last
# Hub call (FLUSH_BUDGET_SECONDS + HUB_TIMEOUT_SECONDS + 30 s).
WAIT_S = 10.0
REPUBLISH_MAX = 200  # markers published again by one run (the next run goes on with the rest)


class ResultError(ValueError):
    """A result that cannot be published as asked (a row without `object` or `externalId`)."""


def messages(*, kind: str, project: str, manifest: str, state: str, rows: Iterable[dict],
             error: str | None = None, at: float | None = None,
             batches: Iterable[str] = ()) -> list[tuple[bytes, dict[str, str]]]:
    """The message(s) for one result: [(body, attributes)], one per part (see the module
    docstring). The same arguments give the same bytes. ResultError for a malformed row."""
    rows = [dict(r) for r in rows]
    for r in rows:
        if not r.get("object") or "externalId" not in r:
            raise ResultError(f"a result row needs object and externalId, got {sorted(r)}")
    counts = {"assets": len(rows), **Counter(str(r.get("outcome") or state) for r in rows)}
    when = datetime.fromtimestamp(at if at is not None else clock.now(), timezone.utc)
    head = {"v": VERSION, "kind": kind, "result_id": "", "project": project, "batches": list(batches),
            "manifest": manifest, "state": state, "error": error, "at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "counts": counts}
    parts: list[list[dict]] = [[]]
    size = 0
    for r in rows:
        n = len(_dumps(r)) + 1
        if parts[-1] and size + n > MAX_BODY_BYTES:
            parts.append([])
            size = 0
        parts[-1].append(r)
        size += n
    out = []
    for i, part in enumerate(parts, 1):
        result_id = f"{manifest}#{state}" + (f"#{i}/{len(parts)}" if len(parts) > 1 else "")
        body = {**head, "result_id": result_id, "assets": part, "part": i, "parts": len(parts)}
        attributes = {"result_id": result_id, "kind": kind, "state": state, "project": project}
        out.append((_dumps(body), {k: cut_utf8(v, 1024) for k, v in attributes.items()}))
    return out


def publish(publisher, topic_path: str, timeout: float = WAIT_S, **result) -> bool:
    """Publish one result (the arguments of `messages`); True when Pub/Sub confirmed every part
    within `timeout` seconds. Never raises for Pub/Sub's failures (logged); ResultError as `messages`."""
    futures = _send(publisher, topic_path, messages(**result))
    return _confirmed(futures, clock.monotonic() + timeout, result.get("manifest", "?"))


def import_rows(manifest) -> list[dict]:
    """The result rows of a manifest (manifests.Manifest): its objects and their externalIds."""
    return [{"object": ref.uri, "generation": str(ref.generation), "externalId": asset.external_id}
            for ref, asset in zip(manifest.objects, manifest.assets)]


def manifest_messages(manifest) -> list[tuple[bytes, dict[str, str]]]:
    """The message(s) of a manifest in a final state (its time: when that state was written)."""
    state = manifest.state
    return messages(kind="import", project=manifest.destination.project, manifest=manifest.path,
                    state=state["state"], rows=import_rows(manifest), error=state.get("error"),
                    at=float(state.get("settled_at") or state.get("updated_at") or 0),
                    batches=manifest.destination.batches)


class Results:
    """One run's publisher of manifest results: the hooks ManifestStore calls around a final
    state, and `finish` at the end of the run (under the flush lease)."""

    def __init__(self, publisher, topic_path: str, flush_id: str, stale_after_s: float):
        self.publisher, self.topic, self.flush_id = publisher, topic_path, flush_id
        self.stale_after_s = stale_after_s
        self.in_flight: dict[str, list] = {}  # manifest path -> its publishes' futures
        self.published = 0

    @classmethod
    def of(cls, settings, publisher, flush_id: str, stale_after_s: float) -> "Results | None":
        """A Results for a run, or None when RESULTS_TOPIC is empty (off)."""
        return cls(publisher, settings.results_topic_path, flush_id, stale_after_s) if settings.results_topic else None

    def settled(self, manifest) -> None:
        """ManifestStore's hook once `manifest`'s final state is written: hand its message to
        Pub/Sub. Never raises; what does not go out now goes out from its marker later."""
        try:
            self.in_flight[manifest.path] = _send(self.publisher, self.topic, manifest_messages(manifest))
        except Exception as exc:  # noqa: BLE001 - a result must never stop an import
            log(logger, logging.ERROR, f"building a result failed; it stays marked: {exc}", flush_id=self.flush_id,
                manifest=manifest.path)

    def finish(self, manifests, wait_s: float = WAIT_S) -> int:
        """Confirm this run's publishes, unmark the confirmed, then publish again what earlier runs
        left marked (at most REPUBLISH_MAX), all within `wait_s`. Returns how many results this
        run got confirmed."""
        deadline = clock.monotonic() + wait_s
        self._confirm(manifests, self.in_flight, deadline)
        again: dict[str, list] = {}
        for path, marked_at in manifests.marked_results():
            if len(again) >= REPUBLISH_MAX or clock.monotonic() >= deadline:
                log(logger, logging.WARNING, "more results left marked than one run publishes; the next goes on",
                    flush_id=self.flush_id)
                break
            if path in self.in_flight:
                continue  # its publish failed or is slow this run: the next run tries again
            manifest = manifests.load(path)
            if manifest is None or manifest.state.get("state") not in FINAL:
                if clock.now() - marked_at > self.stale_after_s:
                    manifests.unmark_result(path)  # it never became final; if it does, it is marked again
                continue
            try:
                again[path] = _send(self.publisher, self.topic, manifest_messages(manifest))
            except Exception as exc:  # noqa: BLE001 - as in settled()
                log(logger, logging.ERROR, f"building a result failed: {exc}", flush_id=self.flush_id, manifest=path)
        confirmed = self._confirm(manifests, again, deadline)
        if again:
            log(logger, logging.INFO, "published results left by earlier runs", flush_id=self.flush_id,
                republished=confirmed, failed=len(again) - confirmed)
        self.in_flight = {}
        return self.published

    def _confirm(self, manifests, futures_by_path: dict[str, list], deadline: float) -> int:
        confirmed = 0
        for path, futures in futures_by_path.items():
            if _confirmed(futures, deadline, path, self.flush_id):
                manifests.unmark_result(path)
                confirmed += 1
        self.published += confirmed
        return confirmed


def _dumps(body) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _send(publisher, topic_path: str, parts: list[tuple[bytes, dict]]) -> list:
    """Hand each part to the client; a part the client refuses outright is its exception."""
    futures = []
    for body, attributes in parts:
        try:
            futures.append(publisher.publish(topic_path, body, **attributes))
        except Exception as exc:  # noqa: BLE001 - the client's errors vary; none may end a flush
            futures.append(exc)
    return futures


def _confirmed(futures: list, deadline: float, manifest: str, flush_id: str | None = None) -> bool:
    """Whether every future succeeded by `deadline`; a failure is logged (its marker stays)."""
    for future in futures:
        try:
            if isinstance(future, Exception):
                raise future
            future.result(timeout=max(0.0, deadline - clock.monotonic()))
        except Exception as exc:  # noqa: BLE001 - as above
            log(logger, logging.WARNING, f"publishing a result failed; a later flush publishes it again: "
                f"{type(exc).__name__}: {exc}", manifest=manifest, flush_id=flush_id)
            return False
    return True


def finish(manifests, lease, summary, flush_id: str) -> None:
    """End of a flush or replay run: `Results.finish`, when results are on and the run holds
    the flush lease (only the one sender publishes old results). Logs, never raises."""
    hooks = manifests.results
    if hooks is None or not lease.generation:
        return
    try:
        summary.results_published = hooks.finish(manifests)
    except Exception as exc:  # noqa: BLE001 - what is not published stays marked for the next run
        log(logger, logging.ERROR, f"publishing results failed; the next flush tries again: {exc}",
            flush_id=flush_id)
