"""`check`: the configuration, and every dependency reached once (the Hub: key, storages, projects,
batches; both buckets; the topic and the subscription; the alerts), one line each.

A batch template (core/batch_templates.py) is filled per file, so it is not looked for in the Hub
as a name: `check` says it is a template and whether the flush may create what it makes
(HUB_CREATE_BATCHES). Plain batch names are looked for as they are.
"""
from __future__ import annotations

from dataclasses import dataclass

from hub_import.core import clock
from hub_import.core.batch_templates import is_template
from hub_import.core.settings import Settings
from hub_import.core.text import for_terminal

OK, FAIL, SKIP, WARN = "ok", "fail", "skip", "warn"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""
    skipped: bool = False
    warning: bool = False  # works, but something is missing: said, and not counted as a failure

    @property
    def status(self) -> str:
        return SKIP if self.skipped else WARN if self.warning else OK if self.ok else FAIL

    def line(self) -> str:
        mark = {SKIP: "skip", WARN: "warn", OK: "ok  ", FAIL: "FAIL"}[self.status]
        shown = self.hint and (self.warning or not self.ok)
        return f"{mark} {for_terminal(self.name)}: {for_terminal(self.detail)}" + (
            f"\n     fix: {for_terminal(self.hint)}" if shown else "")

    def to_json(self) -> dict:
        return {"name": self.name, "status": self.status, "detail": self.detail,
                "fix": self.hint if self.hint and (self.warning or not self.ok) else None}


def counts(results: list[Check]) -> dict[str, int]:
    """How many checks have each status: every line printed is counted once."""
    statuses = [r.status for r in results]
    return {"ok": statuses.count(OK), "failed": statuses.count(FAIL), "skipped": statuses.count(SKIP),
            "warnings": statuses.count(WARN)}


def summary_line(results: list[Check]) -> str:
    n = counts(results)
    return (f"{n['ok']} ok, {n['failed']} failed, {n['skipped']} skipped"
            + (f", {n['warnings']} warning(s)" if n["warnings"] else ""))


def report_json(results: list[Check]) -> dict:
    """The schema of `check --json` (docs/json/check.md)."""
    n = counts(results)
    return {"ok": n["failed"] == 0, "counts": n, "checks": [r.to_json() for r in results]}


def alerting(settings: Settings) -> list[Check]:
    """Whether the deployment's alerts reach anyone (ALERT_CHANNELS, set by Terraform; nothing when unknown)."""
    if settings.alert_channels is None:
        return []
    if settings.alert_channels == 0:
        return [Check("alerts", True, "the alert policies have no notification channel: nobody hears of files "
                      "waiting, dead letters or the Hub unreachable", "set alert_emails or notification_channels in "
                      "the module call in terraform/main.tf, then terraform apply", warning=True)]
    return [Check("alerts", True, f"the alert policies go to {settings.alert_channels} notification channel(s)")]


def template_checks(settings: Settings, project: str, templates: list[str]) -> list[Check]:
    """One line per batch template of `project`: filled per file, and whether the flush may create
    the batches it makes (a warning when not: a file whose filled name is no batch yet fails)."""
    if settings.create_batches:
        return [Check(f"Hub project {project}", True, f"template {t}: filled per file; creation allowed "
                      f"(HUB_CREATE_BATCHES=true, at most {settings.max_template_batches} batches per template)")
                for t in templates]
    return [Check(f"Hub project {project}", True, f"template {t}: filled per file; creation not allowed: a file "
                  "whose filled name is not a batch in the Hub yet fails (its dead letter says which)",
                  "create the batches it makes in the Hub beforehand, or set HUB_CREATE_BATCHES=true", warning=True)
            for t in templates]


def check(settings: Settings, storage, publisher, subscriber, hub) -> list[Check]:
    """Reach every dependency once: the Hub (key, storages, projects, batches), both buckets,
    the topic and the subscription. The first line is the configuration's (it loaded)."""
    from google.api_core import exceptions

    from hub_import.hub import HubAuthError, HubError, HubNotFoundError

    results: list[Check] = [Check("configuration", True, "every variable valid")]
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
            wanted = sorted({b for d in destinations if d.project == project for b in d.batches})
            templates = [b for b in wanted if is_template(b)]
            names = [b.replace("{{", "{").replace("}}", "}") for b in wanted if not is_template(b)]
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
            elif names or not templates:
                results.append(Check(f"Hub project {project}", True,
                                     f"batches {', '.join(names) or '(none)'}"
                                     + (f" ({', '.join(missing)} will be created)" if missing else "")))
            results += template_checks(settings, project, templates)
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
