"""Settings: every one from an environment variable that Terraform sets, validated once.

`ENV` is the one list of variable names (Terraform is tested against it). `load()` reads them
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

from .assets import DEFAULT_EXTERNAL_ID_TEMPLATE, DEFAULT_URL_TEMPLATE, TemplateError, check_template
from .batch_templates import check_template as check_batch_template
from .environment import ConfigError, Reader
from .hub_quirks import DEFAULT_SETTLE_S
from .metadata import RESERVED
from .routes import Destination, Route, check_glob, parse_routes

# The Hub's regional API hosts (the SDK's, ../shared/hub-api.md): where HUB_API_URL may send the key.
HUB_HOSTS = {"eu": "https://imeritapi.ango.ai", "us": "https://us-api.ango.ai",
             "in": "https://in-api.ango.ai", "test": "https://testapi.ango.ai"}

# name -> (default, what it holds). A default of None means required.
ENV: dict[str, tuple[str | None, str]] = {
    "GOOGLE_CLOUD_PROJECT": (None, "the GCP project id that holds the topic and subscription"),
    "HUB_API_URL": (HUB_HOSTS["eu"], "the Hub's API base URL, without /v2"),
    "HUB_API_KEY": ("", "the Hub API key (from Secret Manager; only the flush needs it)"),
    "HUB_ALLOW_HTTP": ("false", "allow a plain http:// HUB_API_URL on a non-local host (true/false)"),
    "HUB_PROJECT_ID": ("", "the Hub project that objects no route matches go to (empty: skip them)"),
    "HUB_STORAGE_ID": ("", "the Hub storage integration id that can read the bucket"),
    "HUB_PUBLIC_BUCKET": ("false", "the bucket is public, so an empty HUB_STORAGE_ID is meant (true/false)"),
    "HUB_BATCHES": ("", "comma-separated batch names for the default route"),
    "HUB_PRIORITY": ("0", "the default route's priority, -1000..1000"),
    "HUB_CREATE_BATCHES": ("false", "create missing batches in the Hub (true/false)"),
    "HUB_ROUTES": ("[]", "JSON list of routes: {prefix|glob, project, storage, batches, priority}"),
    "MAX_TEMPLATE_BATCHES": ("100", "the most batches one batch template (or metadata hub-batches) may create "
                                 "in a project"),
    "HUB_CONTEXT_KEYS": ("", "comma-separated custom metadata keys (x-goog-meta-KEY) copied into the asset's "
                         "contextData; * for all"),
    "MAX_CONTEXT_VALUE_BYTES": ("1024", "a metadata value longer than this is left out of contextData (logged)"),
    "HUB_METADATA_OVERRIDES": ("false", "an object's metadata hub-project, hub-batches, hub-priority override its "
                               "route (true/false)"),
    "HUB_REQUESTS_PER_MINUTE": ("100", "the Hub's rate limit for this key, requests per minute"),
    "HUB_TIMEOUT_SECONDS": ("60", "the longest the flush waits for one Hub answer (an import's answer, or a read)"),
    "HUB_SETTLE_SECONDS": (str(DEFAULT_SETTLE_S), "after an import whose answer was lost, how long to wait before "
                           "asking the Hub what it stored and sending the rest"),
    "INCLUDE_GLOBS": ("", "comma-separated globs; when set, only matching names are imported"),
    "EXCLUDE_GLOBS": ("", "comma-separated globs of names never imported"),
    "ALLOWED_EXTENSIONS": ("jpg,jpeg,png,gif,webp,bmp,tif,tiff,heic,avif,mp4,mov,m4v,webm,avi,mkv,"
                           "mp3,wav,flac,pdf,txt,md,csv,json,html,dcm,nii,gz",
                           "comma-separated file extensions to import; a name with an extension is judged by it"),
    "ALLOWED_CONTENT_TYPES": ("image/*,video/*,audio/*,application/pdf,text/*,application/dicom",
                              "comma-separated content types (type/* allowed) for names without an extension"),
    "SKIP_EMPTY_OBJECTS": ("true", "skip zero-byte objects (true/false)"),
    "MAX_OBJECT_BYTES": ("0", "skip objects larger than this (0: no limit)"),
    "URL_TEMPLATE": (DEFAULT_URL_TEMPLATE, "the asset data URL; fields {bucket} {name} {generation}"),
    "EXTERNAL_ID_TEMPLATE": (DEFAULT_EXTERNAL_ID_TEMPLATE, "the asset externalId; same fields"),
    "PROBE_IMAGE_SIZE": ("true", "read image headers for width and height (true/false)"),
    "PROBE_MAX_BYTES": ("1048576", "the most bytes read from one object to find its size"),
    "PUBSUB_TOPIC": ("hub-import-assets", "the topic the ingest function publishes to"),
    "PUBSUB_SUBSCRIPTION": ("hub-import-flush", "the pull subscription the flush drains"),
    "DEAD_LETTER_TOPIC": ("hub-import-dead-letter", "the topic for messages that cannot be imported"),
    "RESULTS_TOPIC": ("", "the topic that gets one message per settled manifest (empty: none)"),
    "LANDING_BUCKET": ("", "the bucket files land in (the trigger's bucket; backfill's default)"),
    "STATE_BUCKET": (None, "the bucket for manifests and the ledger"),
    "MANIFEST_PREFIX": ("manifests/", "where manifests go in the state bucket"),
    "LEDGER_PREFIX": ("ledger/", "where ledger records go in the state bucket"),
    "MAX_ASSETS_PER_MANIFEST": ("500", "the most assets in one manifest (one Hub call)"),
    "FLUSH_BUDGET_SECONDS": ("240", "how long one flush may work before it stops pulling"),
    "ON_OVERWRITE": ("skip", "an overwritten object: skip (import a name once) or import (each generation)"),
    "ON_DELETE": ("ignore", "an object deleted from the bucket: ignore (its asset stays) or delete (its asset is "
                  "soft-deleted in the Hub)"),
    "MAX_EVENT_AGE_SECONDS": ("86400", "drop events older than this instead of retrying them"),
    "LOG_LEVEL": ("INFO", "DEBUG, INFO, WARNING or ERROR"),
}


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

    def require_api_key(self) -> str:
        if not self.hub_api_key:
            raise ConfigError("HUB_API_KEY: required to call the Hub; set it from the Secret Manager secret")
        return self.hub_api_key

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
    """Read and check every setting. Raises ConfigError naming the first bad variable."""
    env = Reader(os.environ if environ is None else environ, ENV)
    hub_api_url = _check_hub_url(env.text("HUB_API_URL").rstrip("/"), env.flag("HUB_ALLOW_HTTP"))
    project = env.text("HUB_PROJECT_ID")
    default = None
    if project:
        default = Destination(project=project, storage=env.text("HUB_STORAGE_ID") or None,
                              batches=env.items("HUB_BATCHES"),
                              priority=env.integer("HUB_PRIORITY", -1000, 1000))
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
    _check_storage(default, routes, public_bucket)
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
        requests_per_minute=env.number("HUB_REQUESTS_PER_MINUTE", 0),
        include_globs=env.items("INCLUDE_GLOBS"),
        exclude_globs=env.items("EXCLUDE_GLOBS"),
        allowed_extensions=frozenset(e.lower().lstrip(".") for e in env.items("ALLOWED_EXTENSIONS")),
        allowed_content_types=tuple(t.lower() for t in env.items("ALLOWED_CONTENT_TYPES")),
        skip_empty=env.flag("SKIP_EMPTY_OBJECTS"),
        max_object_bytes=env.integer("MAX_OBJECT_BYTES", 0),
        url_template=templates["URL_TEMPLATE"],
        external_id_template=templates["EXTERNAL_ID_TEMPLATE"],
        probe_image_size=env.flag("PROBE_IMAGE_SIZE"),
        probe_max_bytes=env.integer("PROBE_MAX_BYTES", 1024),
        topic=env.nonempty("PUBSUB_TOPIC"),
        subscription=env.nonempty("PUBSUB_SUBSCRIPTION"),
        dead_letter_topic=env.nonempty("DEAD_LETTER_TOPIC"),
        landing_bucket=env.bucket("LANDING_BUCKET") if env.text("LANDING_BUCKET") else "",
        state_bucket=env.bucket("STATE_BUCKET"),
        manifest_prefix=env.prefix("MANIFEST_PREFIX"),
        ledger_prefix=env.prefix("LEDGER_PREFIX"),
        max_assets_per_manifest=env.integer("MAX_ASSETS_PER_MANIFEST", 1, 10000),
        flush_budget_s=env.number("FLUSH_BUDGET_SECONDS", 5),
        each_generation=on_overwrite == "import",
        max_event_age_s=env.number("MAX_EVENT_AGE_SECONDS", 60),
        log_level=level,
        settle_s=env.number("HUB_SETTLE_SECONDS", 0),
        hub_timeout_s=env.number("HUB_TIMEOUT_SECONDS", 1),
        public_bucket=public_bucket,
        context_keys=context_keys,
        context_max_value_bytes=env.integer("MAX_CONTEXT_VALUE_BYTES", 1),
        metadata_overrides=env.flag("HUB_METADATA_OVERRIDES"),
        max_template_batches=env.integer("MAX_TEMPLATE_BATCHES", 1),
        results_topic=env.text("RESULTS_TOPIC"),
        delete_follows=on_delete == "delete",
    )


def _check_storage(default: Destination | None, routes: tuple[Route, ...], public_bucket: bool) -> None:
    """Every destination names a storage integration, unless the bucket is public: without one,
    the Hub takes the assets and cannot read them, and they count as sent for good."""
    if public_bucket:
        return
    bare = sorted({d.project for d in ([default] if default else []) + [r.destination for r in routes]
                   if not d.storage})
    if bare:
        raise ConfigError(f"HUB_STORAGE_ID: empty, so the Hub could not read the files it is sent (project "
                          f"{', '.join(bare)}); set it to the _id of the storage integration (Hub UI, "
                          "Organization > Storages), or HUB_PUBLIC_BUCKET=true if the bucket is public")


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def _check_hub_url(url: str, allow_http: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"HUB_API_URL: expected an https:// URL such as {HUB_HOSTS['eu']}, got {url!r}")
    if parts.path.rstrip("/").endswith("/v2"):
        raise ConfigError("HUB_API_URL: leave out /v2 (it is part of every path)")
    if parts.scheme == "http" and not allow_http and not _is_local(parts.hostname):
        raise ConfigError(f"HUB_API_URL: plain http:// is only allowed for a local host, not {parts.hostname!r} "
                          f"(set HUB_ALLOW_HTTP=true to override)")
    return url


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
