"""Cloud Functions entry points, one deployable source tree for both.

- `on_object_finalized` (CloudEvent, from Eventarc): one finalized object in the landing
  bucket, filtered, routed, sized and queued on Pub/Sub; with ON_DELETE=delete, also one deleted
  or archived object, queued as a deletion when no generation of its name is live.
- `flush` (HTTP POST, from Cloud Scheduler): drain the queue into manifests and the Hub.
- `sweep` (HTTP POST, from Cloud Scheduler, every SWEEP_EVERY_MINUTES): list the landing bucket
  for files whose event was lost, and queue them as their event would have (ingest/sweep.py).

Settings are read and checked once, at cold start; everything else lives in `hub_import`.
"""
from __future__ import annotations

import functions_framework

from hub_import.core import logs, settings
from hub_import.flush.run import flush_once
from hub_import.ingest.handler import handle_event
from hub_import.ingest.sweep import sweep_once

SETTINGS = settings.load()
logs.setup(SETTINGS.log_level)


@functions_framework.cloud_event
def on_object_finalized(event) -> None:
    """Eventarc `google.cloud.storage.object.v1.finalized`: queue the object for the Hub (and, with
    ON_DELETE=delete, `.deleted` and `.archived`: queue its deletion).

    Returns normally when the event is done with (queued, skipped or unusable); raises when
    Pub/Sub did not confirm, so that Eventarc delivers it again.
    """
    handle_event(event, SETTINGS)


@functions_framework.http
def flush(request):
    """Cloud Scheduler's POST: one flush within FLUSH_BUDGET_SECONDS; answers its JSON summary."""
    if request.method != "POST":
        return {"error": "use POST"}, 405, {"Allow": "POST"}
    return flush_once(SETTINGS).to_json()


@functions_framework.http
def sweep(request):
    """Cloud Scheduler's POST (SWEEP_EVERY_MINUTES): one bounded sweep for files whose event was
    lost; answers its JSON report."""
    if request.method != "POST":
        return {"error": "use POST"}, 405, {"Allow": "POST"}
    return sweep_once(SETTINGS).to_json()
