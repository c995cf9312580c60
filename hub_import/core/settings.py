"""Settings: every one from an environment variable that Terraform sets, validated once.

The table of variables, their defaults and the bounds of the numeric ones is
core/settings_table.py (`ENV`, `NUMBERS`). `load()` reads them
into one immutable `Settings`; a missing or malformed variable raises `ConfigError` naming it
and saying what is expected. The Hub API key is read here but only required where the Hub is
called (`Settings.require_api_key`), so that the ingest function never needs the secret.
"""
from __future__ import annotations

import ipaddress
import json
import os
import string
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlsplit

from .assets import TemplateError, check_template
from .batch_templates import check_template as check_batch_template
from .environment import ConfigError, Reader
from .hub_quirks import DEFAULT_SETTLE_S
from .metadata import RESERVED
from .routes import Destination, Route, check_glob, parse_routes
from .setting_names import misspelt
from .settings_table import ENV, HUB_HOSTS, NUMBERS  # noqa: F401 - ENV and HUB_HOSTS are read from here too

HUB_HOSTNAMES = frozenset(urlsplit(url).hostname for url in HUB_HOSTS.values())


@dataclass(frozen=True)
class Settings:
    gcp_project: str
    hub_api_url: str
    hub_api_key: str = field(repr=False)
    default: Destination | None
    routes: tuple[Route, ...]
    create_batches: bool
    requests_per_minute: float
    include_globs: tuple[str, ...]
    exclude_globs: tuple[str, ...]
    allowed_extensions: frozenset[str]
    allowed_content_types: tuple[str, ...]
    skip_empty: bool
    max_object_bytes: int
    url_template: str
    external_id_template: str
    probe_image_size: bool
    probe_max_bytes: int
    topic: str
    subscription: str
    dead_letter_topic: str
    landing_bucket: str
    state_bucket: str
    manifest_prefix: str
    ledger_prefix: str
    max_assets_per_manifest: int
    flush_budget_s: float
    each_generation: bool
    max_event_age_s: float
    log_level: str
    settle_s: float = DEFAULT_SETTLE_S
    hub_timeout_s: float = 60.0
    public_bucket: bool = False
    context_keys: tuple[str, ...] = ()
    context_max_value_bytes: int = 1024
    metadata_overrides: bool = False
    max_template_batches: int = 100
    results_topic: str = ""
    delete_follows: bool = False  # ON_DELETE=delete: a deletion in the bucket soft-deletes the asset
    max_deletions_per_hour: int = 1000  # past it in a rolling hour, deletions are held (0: no limit)
    alert_channels: int | None = None  # None: not known (not deployed by Terraform)
    storage_id: str = ""  # HUB_STORAGE_ID as set (empty: the flush finds the integration, see discovers_storage)
    sweep_every_minutes: int = 60  # 0: no scheduled sweep (ingest/sweep.py)
    sweep_grace_s: float = 600.0

    def require_api_key(self) -> str:
        if not self.hub_api_key:
            raise ConfigError("HUB_API_KEY: required to call the Hub; set it from the Secret Manager secret")
        return self.hub_api_key

    @property
    def discovers_storage(self) -> bool:
        """Whether the flush must find the storage integration of LANDING_BUCKET in the Hub
        (core/bucket_storage.py): a destination names none, and the bucket is not public."""
        return not self.public_bucket and any(d.storage is None for d in self.destinations)

    @property
    def destinations(self) -> tuple[Destination, ...]:
        """The default route's destination (if any) and every route's."""
        return ((self.default,) if self.default else ()) + tuple(r.destination for r in self.routes)

    @property
    def topic_path(self) -> str:
        return _resource_path(self.gcp_project, "topics", self.topic)

    @property
    def subscription_path(self) -> str:
        return _resource_path(self.gcp_project, "subscriptions", self.subscription)

    @property
    def dead_letter_topic_path(self) -> str:
        return _resource_path(self.gcp_project, "topics", self.dead_letter_topic)

    @property
    def results_topic_path(self) -> str:
        return _resource_path(self.gcp_project, "topics", self.results_topic) if self.results_topic else ""


def _resource_path(project: str, kind: str, name: str) -> str:
    return name if name.startswith("projects/") else f"projects/{project}/{kind}/{name}"


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting. Raises ConfigError naming the first bad variable, or a variable
    that is not a setting but looks like a misspelt one (core/setting_names.py)."""
    source = os.environ if environ is None else environ
    wrong = misspelt(source)
    if wrong:
        name, near = wrong[0]
        more = f" (and {', '.join(n for n, _ in wrong[1:])})" if len(wrong) > 1 else ""
        raise ConfigError(f"{name}{more}: not a setting; did you mean {near}? (rename or unset it: a misspelt "
                          "setting would be ignored)")
    env = Reader(source, ENV, NUMBERS)
    hub_api_url = _check_hub_url(env.text("HUB_API_URL").rstrip("/"), env.flag("HUB_ALLOW_HTTP"),
                                 env.flag("HUB_ALLOW_CUSTOM_HOST"))
    project = env.text("HUB_PROJECT_ID")
    default = None
    if project:
        default = Destination(project=project, storage=env.text("HUB_STORAGE_ID") or None,
                              batches=env.items("HUB_BATCHES"),
                              priority=env.bounded("HUB_PRIORITY"))
    for batch in env.items("HUB_BATCHES"):
        try:
            check_batch_template(batch)
        except ValueError as exc:
            raise ConfigError(f"HUB_BATCHES: {exc}") from None
    context_keys = env.items("HUB_CONTEXT_KEYS")
    reserved = sorted(set(context_keys) & set(RESERVED))
    if reserved:
        raise ConfigError(f"HUB_CONTEXT_KEYS: {', '.join(reserved)} route the object and never go into contextData")
    try:
        routes = parse_routes(json.loads(env.text("HUB_ROUTES") or "[]"), default,
                              fallback_storage=env.text("HUB_STORAGE_ID") or None)
    except ValueError as exc:  # JSONDecodeError is a ValueError too
        raise ConfigError(f"HUB_ROUTES: {exc}") from None
    if default is None and not routes:
        raise ConfigError("HUB_PROJECT_ID: required when HUB_ROUTES is empty (where should objects go?)")
    public_bucket = env.flag("HUB_PUBLIC_BUCKET")
    _check_storage(default, routes, public_bucket, env.text("LANDING_BUCKET"))
    for name in ("INCLUDE_GLOBS", "EXCLUDE_GLOBS"):
        for glob in env.items(name):
            try:
                check_glob(glob)
            except ValueError as exc:
                raise ConfigError(f"{name}: {exc}") from None
    templates = {}
    for name in ("URL_TEMPLATE", "EXTERNAL_ID_TEMPLATE"):
        try:
            templates[name] = check_template(env.text(name), name)
        except TemplateError as exc:
            raise ConfigError(str(exc)) from None
    if not templates["URL_TEMPLATE"].startswith("https://") and not env.flag("HUB_ALLOW_HTTP"):
        raise ConfigError("URL_TEMPLATE: must start with https:// (the Hub reads files over https)")
    on_overwrite = env.text("ON_OVERWRITE").lower()
    if on_overwrite not in ("skip", "import"):
        raise ConfigError(f"ON_OVERWRITE: expected skip or import, got {on_overwrite!r}")
    if on_overwrite == "import" and "generation" not in _fields(templates["EXTERNAL_ID_TEMPLATE"]):
        raise ConfigError("ON_OVERWRITE: import (each generation an asset) needs {generation} in "
                          f"EXTERNAL_ID_TEMPLATE, such as '{{name}}#{{generation}}'; with "
                          f"{templates['EXTERNAL_ID_TEMPLATE']!r} every overwrite adds another asset of the same "
                          "externalId")
    on_delete = env.text("ON_DELETE").lower()
    if on_delete not in ("ignore", "delete"):
        raise ConfigError(f"ON_DELETE: expected ignore or delete, got {on_delete!r}")
    level = env.text("LOG_LEVEL").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR, got {level!r}")
    return Settings(
        gcp_project=env.text("GOOGLE_CLOUD_PROJECT"),
        hub_api_url=hub_api_url,
        hub_api_key=env.raw("HUB_API_KEY").strip(),
        default=default,
        routes=routes,
        create_batches=env.flag("HUB_CREATE_BATCHES"),
        requests_per_minute=env.bounded("HUB_REQUESTS_PER_MINUTE"),
        include_globs=env.items("INCLUDE_GLOBS"),
        exclude_globs=env.items("EXCLUDE_GLOBS"),
        allowed_extensions=frozenset(e.lower().lstrip(".") for e in env.items("ALLOWED_EXTENSIONS")),
        allowed_content_types=tuple(t.lower() for t in env.items("ALLOWED_CONTENT_TYPES")),
        skip_empty=env.flag("SKIP_EMPTY_OBJECTS"),
        max_object_bytes=env.bounded("MAX_OBJECT_BYTES"),
        url_template=templates["URL_TEMPLATE"],
        external_id_template=templates["EXTERNAL_ID_TEMPLATE"],
        probe_image_size=env.flag("PROBE_IMAGE_SIZE"),
        probe_max_bytes=env.bounded("PROBE_MAX_BYTES"),
        topic=env.nonempty("PUBSUB_TOPIC"),
        subscription=env.nonempty("PUBSUB_SUBSCRIPTION"),
        dead_letter_topic=env.nonempty("DEAD_LETTER_TOPIC"),
        landing_bucket=env.bucket("LANDING_BUCKET") if env.text("LANDING_BUCKET") else "",
        state_bucket=env.bucket("STATE_BUCKET"),
        manifest_prefix=env.prefix("MANIFEST_PREFIX"),
        ledger_prefix=env.prefix("LEDGER_PREFIX"),
        max_assets_per_manifest=env.bounded("MAX_ASSETS_PER_MANIFEST"),
        flush_budget_s=env.bounded("FLUSH_BUDGET_SECONDS"),
        each_generation=on_overwrite == "import",
        max_event_age_s=env.bounded("MAX_EVENT_AGE_SECONDS"),
        log_level=level,
        settle_s=env.bounded("HUB_SETTLE_SECONDS"),
        hub_timeout_s=env.bounded("HUB_TIMEOUT_SECONDS"),
        public_bucket=public_bucket,
        context_keys=context_keys,
        context_max_value_bytes=env.bounded("MAX_CONTEXT_VALUE_BYTES"),
        metadata_overrides=env.flag("HUB_METADATA_OVERRIDES"),
        max_template_batches=env.bounded("MAX_TEMPLATE_BATCHES"),
        results_topic=env.text("RESULTS_TOPIC"),
        delete_follows=on_delete == "delete",
        max_deletions_per_hour=env.bounded("MAX_DELETIONS_PER_HOUR"),
        alert_channels=env.bounded("ALERT_CHANNELS") if env.text("ALERT_CHANNELS") else None,
        storage_id=env.text("HUB_STORAGE_ID"),
        sweep_every_minutes=env.bounded("SWEEP_EVERY_MINUTES"),
        sweep_grace_s=env.bounded("SWEEP_GRACE_SECONDS"),
    )


def _check_storage(default: Destination | None, routes: tuple[Route, ...], public_bucket: bool,
                   landing_bucket: str) -> None:
    """A destination that names no storage integration (and a private bucket) gets the one the flush
    finds in the Hub for LANDING_BUCKET, so that bucket must be named: without an integration the Hub
    would take the assets and could not read them."""
    bare = sorted({d.project for d in ([default] if default else []) + [r.destination for r in routes]
                   if not d.storage})
    if bare and not public_bucket and not landing_bucket:
        raise ConfigError(f"LANDING_BUCKET: required while HUB_STORAGE_ID is empty (project {', '.join(bare)}): "
                          "the flush finds the Hub storage integration whose bucket it is; or set HUB_STORAGE_ID "
                          "to the integration's _id (Hub UI, Organization > Storages), or HUB_PUBLIC_BUCKET=true "
                          "if the bucket is public")


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def _check_hub_url(url: str, allow_http: bool, allow_custom_host: bool = False) -> str:
    """The Hub URL, if the key may go there: one of the Hub's own hosts (HUB_HOSTS) over https on
    443, or a local host (the stand-in); another host, a port, or a user@ (which makes
    https://imeritapi.ango.ai@other.example a URL of other.example) only with HUB_ALLOW_CUSTOM_HOST.
    No error repeats a user@ part (it may hold a secret)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed [, a character NFKC folds into @ : / ...; its message repeats the netloc
        raise ConfigError("HUB_API_URL: not a valid URL (not shown: its user@ part may hold a secret)") from None
    shown = repr(parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl())
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        raise ConfigError(f"HUB_API_URL: not a valid URL: {shown}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError(f"HUB_API_URL: expected an https:// URL such as {HUB_HOSTS['eu']}, got {shown}")
    if parts.path.rstrip("/").endswith("/v2"):
        raise ConfigError("HUB_API_URL: leave out /v2 (it is part of every path)")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ConfigError("HUB_API_URL: a base URL has no ?query or #fragment (every path is appended to it)")
    if parts.scheme == "http" and not allow_http and not _is_local(host):
        raise ConfigError(f"HUB_API_URL: plain http:// is only allowed for a local host, not {host!r} "
                          f"(set HUB_ALLOW_HTTP=true to override)")
    custom = "" if allow_custom_host else _custom_part(parts.netloc, host, port)
    if custom:
        raise ConfigError(f"HUB_API_URL: {shown} has {custom}; the API key goes where it points "
                          f"(set HUB_ALLOW_CUSTOM_HOST=true if that is meant)")
    return url


def _custom_part(netloc: str, host: str, port: int | None) -> str:
    """What makes a URL point elsewhere than the Hub's own hosts or a local one ("": nothing)."""
    if "@" in netloc:
        return f"a user@ part, which makes its host {host!r}"
    if _is_local(host):
        return ""
    if host not in HUB_HOSTNAMES:
        return f"a host that is not one of the Hub's ({', '.join(sorted(HUB_HOSTNAMES))})"
    if port not in (None, 443):
        return f"port {port} (the Hub's hosts answer on 443)"
    return ""


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
