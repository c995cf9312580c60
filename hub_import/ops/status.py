"""`status` (what the import history says) and `check` (can every dependency be reached?)."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from hub_import.core.settings import Settings
from hub_import.state.manifests import FAILED, PENDING, SENT
from hub_import.flush.dead_letters import UNCONFIRMED
from hub_import.core import clock
from hub_import.core.text import for_terminal, lines_for_terminal


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
    sweep: dict | None = None  # the last sweep (state/sweep_state.py), None when none has run

    def to_json(self) -> dict:
        return {"storage": self.storage, "manifests": dict(self.manifests), "assets": dict(self.assets),
                "failed_assets": self.failed_assets, "oldest_pending": self.oldest_pending,
                "dead_letter_backlog": self.dead_letter_backlog, "dead_letters": self.dead_letters,
                "dead_letters_owed": self.dead_letters_owed, "sweep": self.sweep}


def status(settings: Settings, store, subscriber, since: datetime | None = None, max_failed: int = 50) -> Status:
    """Manifests by state, assets sent and failed (with the Hub's reasons), the oldest pending
    manifest, and the messages waiting on the dead-letter subscription, counted by reason."""
    from hub_import.state.sweep_state import last_sweep

    from .storages import last_found

    result = Status(storage=last_found(settings, store), sweep=last_sweep(settings, store))
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
    from hub_import.state.sweep_state import sweep_line

    lines = []
    if result.storage:
        since = f" (since {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(result.storage['since']))})" \
            if result.storage.get("since") else ""
        lines.append(f"storage: {result.storage['says']}{since}")
    if result.sweep:
        lines.append(sweep_line(result.sweep))
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


# -- check ----------------------------------------------------------------------------------------
@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""
    skipped: bool = False
    warning: bool = False  # works, but something is missing: said, and not counted as a failure

    def line(self) -> str:
        mark = "skip" if self.skipped else "warn" if self.warning else "ok  " if self.ok else "FAIL"
        shown = self.hint and (self.warning or not self.ok)
        return f"{mark} {for_terminal(self.name)}: {for_terminal(self.detail)}" + (
            f"\n     fix: {for_terminal(self.hint)}" if shown else "")


def alerting(settings: Settings) -> list[Check]:
    """Whether the deployment's alerts reach anyone (ALERT_CHANNELS, set by Terraform; nothing when unknown)."""
    if settings.alert_channels is None:
        return []
    if settings.alert_channels == 0:
        return [Check("alerts", True, "the alert policies have no notification channel: nobody hears of files "
                      "waiting, dead letters or the Hub unreachable", "set alert_emails or notification_channels in "
                      "the module call in terraform/main.tf, then terraform apply", warning=True)]
    return [Check("alerts", True, f"the alert policies go to {settings.alert_channels} notification channel(s)")]


def check(settings: Settings, storage, publisher, subscriber, hub) -> list[Check]:
    """Reach every dependency once: the Hub (key, storages, projects, batches), both buckets,
    the topic and the subscription."""
    from google.api_core import exceptions

    from hub_import.hub import HubAuthError, HubError, HubNotFoundError

    results: list[Check] = []
    hub_ok = False
    try:
        hub.ping(deadline=clock.monotonic() + 30)
        hub_ok = True
        results.append(Check("Hub API key", True, f"accepted by {settings.hub_api_url}"))
    except HubAuthError as exc:
        results.append(Check("Hub API key", False, f"refused ({exc.status})",
                             "set the right key: TF_VAR_hub_api_key from a file, raise hub_api_key_version, terraform apply (or HUB_API_KEY locally)"))
    except HubError as exc:
        results.append(Check("Hub API key", False, f"Hub unreachable: {exc}", "check HUB_API_URL and the network"))
    destinations = list(settings.destinations)
    results += _storage_checks(settings, hub if hub_ok else None)
    if hub_ok:
        for project in sorted({d.project for d in destinations}):
            names = sorted({b for d in destinations if d.project == project for b in d.batches})
            try:
                batches = {b["name"] for b in hub.project(project, deadline=clock.monotonic() + 30).get("batches", [])}
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
                    for name, seen in observe(hub, project, deadline=clock.monotonic() + 60):
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
    return results + alerting(settings)


def _storage_checks(settings: Settings, hub) -> list[Check]:
    """The storage integrations: each one the settings name exists and reads the landing bucket;
    with HUB_STORAGE_ID empty, exactly one reads it (`hub` None: the Hub cannot be asked)."""
    from hub_import.hub import HubError

    from .storages import judge_configured, judge_found

    results = []
    for storage_id in sorted({d.storage for d in settings.destinations if d.storage}):
        name = f"Hub storage {storage_id}"
        if hub is None:
            results.append(Check(name, False, "not checked without Hub access", skipped=True))
            continue
        try:
            ok, detail, hint = judge_configured(settings, hub, storage_id, clock.monotonic() + 30)
        except HubError as exc:
            ok, detail, hint = False, f"could not read it: {exc}", ""
        results.append(Check(name, ok, detail, hint))
    if settings.discovers_storage:
        name = f"Hub storage integration for bucket {settings.landing_bucket}"
        if hub is None:
            return results + [Check(name, False, "not checked without Hub access", skipped=True)]
        try:
            finding = judge_found(settings, hub, clock.monotonic() + 30)
        except HubError as exc:
            return results + [Check(name, False, f"could not list the storages: {exc}")]
        results.append(Check(name, finding.storage_id is not None, finding.says()))
    return results
