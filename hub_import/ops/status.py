"""`status` (what the import history says) and `check` (can every dependency be reached?)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from hub_import.core.settings import Settings
from hub_import.state.manifests import FAILED, PENDING, SENT
from hub_import.flush.dead_letters import UNCONFIRMED
from hub_import.core import clock
from hub_import.core.text import for_terminal
from hub_import.state import health

from .health_view import Health, judge
from .status_text import STATES, status_table  # noqa: F401 - status_table: the text, imported from here


@dataclass
class Status:
    manifests: Counter = field(default_factory=Counter)
    assets: Counter = field(default_factory=Counter)
    failed_assets: list = field(default_factory=list)
    oldest_pending: dict | None = None  # created_at: epoch seconds (ISO in to_json)
    dead_letter_backlog: int | None = 0  # None: not read (no dead-letter subscription)
    dead_letters_more: bool = False  # the backlog is at least dead_letter_backlog: more were not read
    dead_letters: list = field(default_factory=list)  # [{reason, count, example}], most frequent first
    dead_letters_unread: str = ""  # why the dead letters could not be read (dead_letter_backlog None)
    dead_letters_owed: int = 0  # rejected files whose dead letter Pub/Sub has not confirmed (their failed manifests)
    storage: dict | None = None  # HUB_STORAGE_ID empty: what the flush last found (ops/storages.py)
    health: Health | None = None  # what the last flush's health record says (ops/health_view.py)
    last_import: dict | None = None  # the manifest last marked sent: {manifest, at (epoch seconds), assets}

    def problems(self) -> list[str]:
        """What needs a person (`status --exit-code` exits 1 when there is any), one line each."""
        found = list(self.health.problems) if self.health else []
        failed = self.manifests.get(FAILED, 0)
        if failed:
            found.append(f"{self.assets.get(FAILED, 0)} file(s) failed in {failed} manifest(s) "
                         "(fix the cause, then replay --failed)")
        if self.dead_letter_backlog:
            found.append(f"{self.dead_letter_backlog}{'+' if self.dead_letters_more else ''} dead letter(s) wait "
                         "(replay --dead-letters brings back what can go now)")
        if self.dead_letters_owed:
            found.append(f"{self.dead_letters_owed} dead letter(s) owed")
        return found

    def headline(self) -> str:
        """The first line: the health record's, or, when it is healthy, what else needs a person."""
        line = self.health.line if self.health else "health unknown"
        others = [p for p in self.problems() if not self.health or p not in self.health.problems]
        if self.health and not self.health.problems and others:
            return "needs attention: " + "; ".join(others) + ("" if line == "healthy" else f" ({line})")
        return line

    def to_json(self) -> dict:
        """The schema of docs/json/status.md: numbers as numbers, times ISO 8601 UTC."""
        pending = self.oldest_pending
        record = self.health.record if self.health else None
        oldest_waiting = (record or {}).get("oldest_waiting_published")
        return {
            "health": {**(self.health or Health("health unknown")).to_json(),
                       "says": self.headline(), "problems": self.problems(), "needs_attention": bool(self.problems())},
            "backlog": {"messages": (record or {}).get("backlog"), "at_least": (record or {}).get("waiting_at_least"),
                        "says": (record or {}).get("backlog_says") or "unknown: no health record",
                        "as_of": (record or {}).get("backlog_as_of")},
            "oldest_waiting": {"published": oldest_waiting,
                               "age_seconds": _seconds_since(clock.epoch(oldest_waiting))} if oldest_waiting else None,
            "last_import": {**self.last_import, "at": clock.iso(self.last_import["at"]),
                            "age_seconds": _seconds_since(self.last_import["at"])} if self.last_import else None,
            "storage": {**self.storage, "since": clock.iso(self.storage.get("since")),
                        "at": clock.iso(self.storage.get("at"))} if self.storage else None,
            "manifests": {state: self.manifests.get(state, 0) for state in STATES},
            "assets": {state: self.assets.get(state, 0) for state in STATES},
            "failed_assets": self.failed_assets,
            "oldest_pending": {**pending, "created_at": clock.iso(pending["created_at"]),
                               "age_seconds": _seconds_since(pending["created_at"])} if pending else None,
            "dead_letter_backlog": self.dead_letter_backlog, "dead_letters_more": self.dead_letters_more,
            "dead_letters_unread": self.dead_letters_unread or None,
            "dead_letters": self.dead_letters, "dead_letters_owed": self.dead_letters_owed}


def status(settings: Settings, store, subscriber, since: datetime | None = None, max_failed: int = 50) -> Status:
    """The last flush's health, manifests by state, assets sent and failed (with the Hub's reasons),
    the oldest pending manifest, the last import, and the messages waiting on the dead-letter
    subscription, counted by reason."""
    from .storages import last_found

    result = Status(storage=last_found(settings, store), health=judge(health.read(store, settings.ledger_prefix),
                                                                      settings))
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
        if state == SENT:
            at = float(body.get("updated_at") or body.get("created_at") or 0)
            if result.last_import is None or at > result.last_import["at"]:
                result.last_import = {"manifest": name.removesuffix(".state.json") + ".json", "at": at, "assets": n}
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
                                         "error": body.get("error")}
    result.dead_letter_backlog, result.dead_letters_more, result.dead_letters = _peek_dead_letters(subscriber, settings)
    if result.dead_letter_backlog is None:
        from .dead_letter_inbox import subscription_path
        result.dead_letters_unread = f"no subscription {subscription_path(settings)}"
    return result


def _seconds_since(at: float | None) -> int | None:
    return None if at is None else max(0, int(clock.now() - at))


def _peek_dead_letters(subscriber, settings: Settings, limit: int = 1000) -> tuple[int | None, bool, list]:
    """How many messages wait on the dead-letter subscription (up to `limit`; None when there is no
    such subscription), whether there are more, and why, each handed straight back for others to read."""
    from google.api_core import exceptions

    from hub_import.flush.dead_letters import unwrap

    from .dead_letter_inbox import pull, release, subscription_path

    subscription = subscription_path(settings)
    try:
        received = pull(subscriber, subscription, limit)
    except exceptions.NotFound:
        return None, False, []
    reasons: Counter = Counter()
    examples: dict[str, str] = {}
    for r in received:
        letter = unwrap(r)
        reason = letter.reason if len(letter.reason) <= 300 else letter.reason[:300] + "..."
        reasons[reason] += 1
        examples.setdefault(reason, letter.object)
    release(subscriber, subscription, [r.ack_id for r in received])
    return len(received), len(received) >= limit, [{"reason": r, "count": n, "example": examples[r]}
                                                   for r, n in reasons.most_common()]


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
