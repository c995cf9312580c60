"""`status`: what the import history says (`check`, whether every dependency can be reached, is check.py)."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from hub_import.core.settings import Settings
from hub_import.state.manifests import FAILED, PENDING, SENT
from hub_import.flush.dead_letters import UNCONFIRMED
from hub_import.core import clock
from hub_import.core.text import lines_for_terminal


@dataclass
class Status:
    manifests: Counter = field(default_factory=Counter)
    assets: Counter = field(default_factory=Counter)
    failed_assets: list = field(default_factory=list)
    oldest_pending: dict | None = None
    dead_letter_backlog: str = "0"
    dead_letters: list = field(default_factory=list)  # [{reason, count, example}], most frequent first
    dead_letters_owed: int = 0  # rejected files whose dead letter Pub/Sub has not confirmed (their failed manifests)
    storage: dict | None = None  # HUB_STORAGE_ID empty: what the flush last found (ops/storages.py)

    def to_json(self) -> dict:
        return {"storage": self.storage, "manifests": dict(self.manifests), "assets": dict(self.assets),
                "failed_assets": self.failed_assets, "oldest_pending": self.oldest_pending,
                "dead_letter_backlog": self.dead_letter_backlog, "dead_letters": self.dead_letters,
                "dead_letters_owed": self.dead_letters_owed}


def status(settings: Settings, store, subscriber, since: datetime | None = None, max_failed: int = 50) -> Status:
    """Manifests by state, assets sent and failed (with the Hub's reasons), the oldest pending
    manifest, and the messages waiting on the dead-letter subscription, counted by reason."""
    from .storages import last_found

    result = Status(storage=last_found(settings, store))
    prefix = settings.manifest_prefix
    start = prefix + since.strftime("%Y/%m/%d") if since else prefix
    for name in store.list(prefix):
        if not name.endswith(".state.json") or name < start:
            continue
        doc = store.read(name)
        if doc is None:
            continue
        body = doc.body
        state = body.get("state", "?")
        if state == FAILED and body.get("replayed_as"):
            state = "failed, replayed"
        if state == PENDING and body.get("uncertain_since") is not None:
            state = "pending, settling"  # an import's answer was lost: the Hub is asked after the settle time
        result.manifests[state] += 1
        n = len(body.get("objects", []))
        result.assets[state] += n
        if state == FAILED:
            result.dead_letters_owed += len(body.get(UNCONFIRMED) or ())
        if state == FAILED and len(result.failed_assets) < max_failed:
            for obj in body.get("objects", [])[: max_failed - len(result.failed_assets)]:
                result.failed_assets.append({"object": f"gs://{obj['bucket']}/{obj['name']}",
                                             "manifest": name.removesuffix(".state.json") + ".json",
                                             "reason": body.get("error")})
        if state in (PENDING, "pending, settling"):
            created = float(body.get("created_at", clock.now()))
            if result.oldest_pending is None or created < result.oldest_pending["created_at"]:
                result.oldest_pending = {"manifest": name.removesuffix(".state.json") + ".json",
                                         "created_at": created, "assets": n, "attempts": body.get("attempts", 0),
                                         "error": body.get("error"),
                                         "age": _age(created)}
    result.dead_letter_backlog, result.dead_letters = _peek_dead_letters(subscriber, settings)
    return result


def _age(created: float) -> str:
    seconds = int(clock.now() - created)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def _peek_dead_letters(subscriber, settings: Settings, limit: int = 1000) -> tuple[str, list]:
    """How many messages wait on the dead-letter subscription (up to `limit`) and why, each
    handed straight back for others to read."""
    from google.api_core import exceptions

    from hub_import.flush.dead_letters import unwrap

    from .dead_letter_inbox import pull, release, subscription_path

    subscription = subscription_path(settings)
    try:
        received = pull(subscriber, subscription, limit)
    except exceptions.NotFound:
        return "unknown (no subscription " + subscription + ")", []
    reasons: Counter = Counter()
    examples: dict[str, str] = {}
    for r in received:
        letter = unwrap(r)
        reason = letter.reason if len(letter.reason) <= 300 else letter.reason[:300] + "..."
        reasons[reason] += 1
        examples.setdefault(reason, letter.object)
    release(subscriber, subscription, [r.ack_id for r in received])
    count = f"{len(received)}+" if len(received) >= limit else str(len(received))
    return count, [{"reason": r, "count": n, "example": examples[r]} for r, n in reasons.most_common()]


def status_table(result: Status) -> str:
    lines = []
    if result.storage:
        since = f" (since {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(result.storage['since']))})" \
            if result.storage.get("since") else ""
        lines.append(f"storage: {result.storage['says']}{since}")
    lines.append("manifests          count   assets")
    for state in (SENT, PENDING, "pending, settling", FAILED, "failed, replayed"):
        lines.append(f"{state:<18}{result.manifests.get(state, 0):>7}  {result.assets.get(state, 0):>7}")
    if result.oldest_pending:
        p = result.oldest_pending
        lines.append(f"oldest pending: {p['manifest']} ({p['age']} old, {p['assets']} assets, "
                     f"{p['attempts']} attempts; {p['error']})")
    else:
        lines.append("oldest pending: none")
    lines.append(f"dead-letter backlog: {result.dead_letter_backlog}"
                 + ("  (replay --dead-letters brings back what can go now)" if result.dead_letters else ""))
    for d in result.dead_letters[:20]:
        lines.append(f"  {d['count']:>5}  {d['reason']}  e.g. {d['example']}")
    if result.dead_letters_owed:
        lines.append(f"dead letters owed: {result.dead_letters_owed}  (rejected files whose dead letter Pub/Sub did not "
                     "confirm yet: each flush sends them again; their failed manifests below, replay --failed)")
    if result.failed_assets:
        lines.append("failed assets:")
        for a in result.failed_assets:
            lines.append(f"  {a['object']}  ({a['reason']})  in {a['manifest']}")
    return lines_for_terminal(lines)
