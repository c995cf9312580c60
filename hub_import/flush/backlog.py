"""The subscription's backlog, where Google reports it: Cloud Monitoring's Pub/Sub metrics
(`num_undelivered_messages`, `oldest_unacked_message_age`), read once per flush for its health
record (state/health.py).

Pub/Sub's own API cannot count a subscription's messages without pulling them, and a pull spends a
delivery attempt, so the product never counts by pulling. Monitoring's figures lag a minute or
two; they are given with the time of their sample. The emulator has no such metrics, and a
deployment whose account may not read them (roles/monitoring.viewer) gets none either: the
backlog is then unknown, and said to be, never a wrong 0.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hub_import.core import clock

logger = logging.getLogger(__name__)

MONITORING = "https://monitoring.googleapis.com/v3"
UNDELIVERED = "pubsub.googleapis.com/subscription/num_undelivered_messages"
OLDEST_AGE = "pubsub.googleapis.com/subscription/oldest_unacked_message_age"
WINDOW_S = 600  # Monitoring samples every minute and may lag a few: the newest point of the last 10 minutes
TIMEOUT_S = 5.0
EMULATOR = "unknown: the Pub/Sub emulator reports no backlog"


@dataclass(frozen=True)
class Backlog:
    """`messages` waiting and the age of the oldest (seconds), as sampled at `as_of` (epoch
    seconds); each None when unknown, and `says` why."""

    messages: int | None = None
    oldest_age_s: int | None = None
    as_of: float | None = None
    says: str = "unknown"


def read_backlog(subscription_path: str, session=None) -> Backlog:
    """The backlog of `subscription_path` (projects/P/subscriptions/S) from Cloud Monitoring.
    Never raises: whatever fails makes it unknown, saying why. `session`: an authorized
    requests-like session (default: application-default credentials)."""
    if os.environ.get("PUBSUB_EMULATOR_HOST"):
        return Backlog(says=EMULATOR)
    try:
        _, project, _, subscription = subscription_path.split("/")
        if session is None:
            import google.auth
            from google.auth.transport.requests import AuthorizedSession

            credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/monitoring.read"])
            session = AuthorizedSession(credentials)
        messages, as_of = _newest(session, project, subscription, UNDELIVERED)
        age, _ = _newest(session, project, subscription, OLDEST_AGE)
    except Exception as exc:  # noqa: BLE001 - any failure only makes the backlog unknown
        logger.debug("reading the backlog failed: %s", exc)
        return Backlog(says=f"unknown: Cloud Monitoring did not say ({type(exc).__name__}: {str(exc)[:200]})")
    if messages is None:
        return Backlog(says="unknown: Cloud Monitoring has no recent sample of the subscription")
    return Backlog(messages, age, as_of, "Cloud Monitoring")


def _newest(session, project: str, subscription: str, metric: str) -> tuple[int | None, float | None]:
    """The newest sample of `metric` for the subscription: (value, sampled at), or (None, None)."""
    end = datetime.fromtimestamp(clock.now(), timezone.utc)
    start = end - timedelta(seconds=WINDOW_S)
    answer = session.get(f"{MONITORING}/projects/{project}/timeSeries", timeout=TIMEOUT_S, params={
        "filter": f'metric.type="{metric}" AND resource.labels.subscription_id="{subscription}"',
        "interval.startTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "interval.endTime": end.strftime("%Y-%m-%dT%H:%M:%SZ")})
    answer.raise_for_status()
    points = [p for series in answer.json().get("timeSeries") or [] for p in series.get("points") or []]
    if not points:
        return None, None
    newest = max(points, key=lambda p: p["interval"]["endTime"])
    return int(newest["value"]["int64Value"]), clock.epoch(newest["interval"]["endTime"])
