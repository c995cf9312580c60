"""`status` (what the import history says) and `check` (can every dependency be reached?)."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from hub_import.core.settings import Settings
from hub_import.state.manifests import FAILED, PENDING, SENT


@dataclass
class Status:
    manifests: Counter = field(default_factory=Counter)
    assets: Counter = field(default_factory=Counter)
    failed_assets: list = field(default_factory=list)
    oldest_pending: dict | None = None
    dead_letter_backlog: str = "0"
    dead_letters: list = field(default_factory=list)  # [{reason, count, example}], most frequent first

    def to_json(self) -> dict:
        return {"manifests": dict(self.manifests), "assets": dict(self.assets),
                "failed_assets": self.failed_assets, "oldest_pending": self.oldest_pending,
                "dead_letter_backlog": self.dead_letter_backlog, "dead_letters": self.dead_letters}


def status(settings: Settings, store, subscriber, since: datetime | None = None, max_failed: int = 50) -> Status:
    """Manifests by state, assets sent and failed (with the Hub's reasons), the oldest pending
    manifest, and the messages waiting on the dead-letter subscription, counted by reason."""
    result = Status()
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
        if state == FAILED and len(result.failed_assets) < max_failed:
            for obj in body.get("objects", [])[: max_failed - len(result.failed_assets)]:
                result.failed_assets.append({"object": f"gs://{obj['bucket']}/{obj['name']}",
                                             "manifest": name.removesuffix(".state.json") + ".json",
                                             "reason": body.get("error")})
        if state in (PENDING, "pending, settling"):
            created = float(body.get("created_at", time.time()))
            if result.oldest_pending is None or created < result.oldest_pending["created_at"]:
                result.oldest_pending = {"manifest": name.removesuffix(".state.json") + ".json",
                                         "created_at": created, "assets": n, "attempts": body.get("attempts", 0),
                                         "error": body.get("error"),
                                         "age": _age(created)}
    result.dead_letter_backlog, result.dead_letters = _peek_dead_letters(subscriber, settings)
    return result


def _age(created: float) -> str:
    seconds = int(time.time() - created)
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
    lines = ["manifests          count   assets"]
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
    if result.failed_assets:
        lines.append("failed assets:")
        for a in result.failed_assets:
            lines.append(f"  {a['object']}  ({a['reason']})  in {a['manifest']}")
    return "\n".join(lines)


# -- check ----------------------------------------------------------------------------------------
@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""
    skipped: bool = False

    def line(self) -> str:
        mark = "skip" if self.skipped else "ok  " if self.ok else "FAIL"
        return f"{mark} {self.name}: {self.detail}" + ("" if self.ok or not self.hint else f"\n     fix: {self.hint}")


def check(settings: Settings, storage, publisher, subscriber, hub) -> list[Check]:
    """Reach every dependency once: the Hub (key, storages, projects, batches), both buckets,
    the topic and the subscription."""
    from google.api_core import exceptions

    from hub_import.hub import HubAuthError, HubError, HubNotFoundError

    results: list[Check] = []
    hub_ok = False
    try:
        hub.ping(deadline=time.monotonic() + 30)
        hub_ok = True
        results.append(Check("Hub API key", True, f"accepted by {settings.hub_api_url}"))
    except HubAuthError as exc:
        results.append(Check("Hub API key", False, f"refused ({exc.status})",
                             "set the right key: TF_VAR_hub_api_key from a file, raise hub_api_key_version, terraform apply (or HUB_API_KEY locally)"))
    except HubError as exc:
        results.append(Check("Hub API key", False, f"Hub unreachable: {exc}", "check HUB_API_URL and the network"))
    destinations = ([settings.default] if settings.default else []) + [r.destination for r in settings.routes]
    wanted_storages = sorted({d.storage for d in destinations if d.storage})
    for storage_id in wanted_storages:
        if not hub_ok:
            results.append(Check(f"Hub storage {storage_id}", False, "not checked without Hub access", skipped=True))
            continue
        try:
            found = hub.storage(storage_id, deadline=time.monotonic() + 30)
        except HubError as exc:
            results.append(Check(f"Hub storage {storage_id}", False, f"could not read it: {exc}"))
            continue
        if found:
            results.append(Check(f"Hub storage {storage_id}", True,
                                 f"{found.get('type', '?')} bucket {found.get('bucket') or '?'}"))
        else:
            results.append(Check(f"Hub storage {storage_id}", False, "no such storage integration",
                                 "create it in the Hub UI (Organization > Storages) with the hub-reader key, "
                                 "then set HUB_STORAGE_ID to its _id"))
    if hub_ok:
        for project in sorted({d.project for d in destinations}):
            names = sorted({b for d in destinations if d.project == project for b in d.batches})
            try:
                batches = {b["name"] for b in hub.project(project, deadline=time.monotonic() + 30).get("batches", [])}
            except HubNotFoundError:
                results.append(Check(f"Hub project {project}", False, "not found",
                                     "check HUB_PROJECT_ID / the routes' project ids (the id, not the name)"))
                continue
            except HubError as exc:
                results.append(Check(f"Hub project {project}", False, str(exc)))
                continue
            missing = [n for n in names if n not in batches]
            if project == destinations[0].project:
                from hub_import.hub.learn import observe
                try:
                    for name, seen in observe(hub, project, deadline=time.monotonic() + 60):
                        results.append(Check(f"Hub behaviour: {name}", True, seen))
                except HubError as exc:
                    results.append(Check("Hub behaviour", False, f"could not read the asset listing: {exc}"))
            if missing and not settings.create_batches:
                results.append(Check(f"Hub project {project}", False, f"batches missing: {', '.join(missing)}",
                                     "create them in the Hub, or set HUB_CREATE_BATCHES=true"))
            else:
                results.append(Check(f"Hub project {project}", True,
                                     f"batches {', '.join(names) or '(none)'}"
                                     + (f" ({', '.join(missing)} will be created)" if missing else "")))
    for label, bucket in (("landing bucket", settings.landing_bucket), ("state bucket", settings.state_bucket)):
        if not bucket:
            results.append(Check(label, True, "not set (backfill needs gs://BUCKET)"))
            continue
        try:
            storage.get_bucket(bucket)
            results.append(Check(label, True, f"gs://{bucket} reachable"))
        except exceptions.NotFound:
            results.append(Check(label, False, f"gs://{bucket} does not exist", "check the name, or terraform apply"))
        except exceptions.GoogleAPICallError as exc:
            results.append(Check(label, False, f"gs://{bucket}: {exc.message}", "grant this account access"))
    for label, call, path in (("topic", publisher.get_topic, settings.topic_path),
                              ("subscription", subscriber.get_subscription, settings.subscription_path)):
        try:
            call(request={label: path}, timeout=15)
            results.append(Check(label, True, path))
        except exceptions.NotFound:
            results.append(Check(label, False, f"{path} does not exist", "check PUBSUB_TOPIC / PUBSUB_SUBSCRIPTION"))
        except exceptions.GoogleAPICallError as exc:
            results.append(Check(label, False, f"{path}: {exc.message}"))
    return results
