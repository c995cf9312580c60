"""The settings table: every environment variable the functions read, its default, what it
holds, and for each numeric one the range it must fall in.

`ENV` is the one list of variable names (Terraform and the README are tested against it);
`NUMBERS` gives every numeric setting its kind and bounds, which `settings.load()` applies and
the refusal tests walk (tests/unit/core/test_settings.py). An upper bound is where a value stops
being a plausible setting and starts being a typo (1e99 seconds), not a tuning limit.
"""
from __future__ import annotations

from typing import NamedTuple

from .assets import DEFAULT_EXTERNAL_ID_TEMPLATE, DEFAULT_URL_TEMPLATE
from .hub_quirks import DEFAULT_SETTLE_S

# The Hub's regional API hosts (the SDK's, ../shared/hub-api.md): where HUB_API_URL may send the key.
HUB_HOSTS = {"eu": "https://imeritapi.ango.ai", "us": "https://us-api.ango.ai",
             "in": "https://in-api.ango.ai", "test": "https://testapi.ango.ai"}
# name -> (default, what it holds). A default of None means required.
ENV: dict[str, tuple[str | None, str]] = {
    "GOOGLE_CLOUD_PROJECT": (None, "the GCP project id that holds the topic and subscription"),
    "HUB_API_URL": (HUB_HOSTS["eu"], "the Hub's API base URL, without /v2"),
    "HUB_API_KEY": ("", "the Hub API key (from Secret Manager; only the flush needs it)"),
    "HUB_ALLOW_HTTP": ("false", "allow a plain http:// HUB_API_URL on a non-local host (true/false)"),
    "HUB_ALLOW_CUSTOM_HOST": ("false", "allow a HUB_API_URL that is not one of the Hub's own hosts (or a local one), "
                              "or that has a port or user@ in it: the key goes wherever it points (true/false)"),
    "HUB_PROJECT_ID": ("", "the Hub project that objects no route matches go to (empty: skip them)"),
    "HUB_STORAGE_ID": ("", "the Hub storage integration id that can read the bucket (empty: the flush finds the "
                       "one whose bucket is LANDING_BUCKET)"),
    "HUB_PUBLIC_BUCKET": ("false", "the bucket is public: destinations without a storage integration send none "
                          "(true/false)"),
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
    "MAX_DELETIONS_PER_HOUR": ("1000", "with ON_DELETE=delete, the most assets soft-deleted in a rolling hour; past it "
                               "deletions are held until `deletions --approve` (0: no limit)"),
    "MAX_EVENT_AGE_SECONDS": ("86400", "drop events older than this instead of retrying them"),
    "SWEEP_EVERY_MINUTES": ("60", "how often the sweep lists the landing bucket for files whose event was lost "
                            "(0: never)"),
    "SWEEP_GRACE_SECONDS": ("600", "the sweep leaves a file this young to its event"),
    "LOG_LEVEL": ("INFO", "DEBUG, INFO, WARNING or ERROR"),
    "ALERT_CHANNELS": ("", "how many notification channels the deployment's alert policies go to (Terraform sets it; "
                       "check warns at 0; empty: not known)"),
}




class Bound(NamedTuple):
    """A numeric setting: whole (an int) or not (a float), and its inclusive range."""
    whole: bool
    low: float
    high: float


DAY_S = 86400
NUMBERS: dict[str, Bound] = {
    "HUB_PRIORITY": Bound(True, -1000, 1000),  # the Hub's priority range
    "MAX_TEMPLATE_BATCHES": Bound(True, 1, 10000),
    "MAX_CONTEXT_VALUE_BYTES": Bound(True, 1, 8192),  # GCS holds at most 8 KiB of custom metadata an object
    "HUB_REQUESTS_PER_MINUTE": Bound(False, 0, 60000),  # 0: unpaced; 1,000 a second is no Hub's plan
    "HUB_TIMEOUT_SECONDS": Bound(False, 1, 300),  # Terraform's hub_timeout_seconds: 1 to 300
    "HUB_SETTLE_SECONDS": Bound(False, 0, DAY_S),
    "MAX_OBJECT_BYTES": Bound(True, 0, 5 * 2**40),  # 0: no limit; GCS objects are at most 5 TiB
    "PROBE_MAX_BYTES": Bound(True, 1024, 64 * 2**20),  # read into the ingest function's memory
    "MAX_ASSETS_PER_MANIFEST": Bound(True, 1, 10000),
    "FLUSH_BUDGET_SECONDS": Bound(False, 5, 1800),  # Cloud Scheduler waits 30 minutes at most
    "MAX_EVENT_AGE_SECONDS": Bound(False, 60, 7 * DAY_S),  # Pub/Sub keeps a message 7 days
    "MAX_DELETIONS_PER_HOUR": Bound(True, 0, 10_000_000),  # 0: no limit
    "SWEEP_EVERY_MINUTES": Bound(True, 0, 1440),  # 0: no sweep; once a day at least (Terraform writes it as cron)
    "SWEEP_GRACE_SECONDS": Bound(False, 0, DAY_S),
    "ALERT_CHANNELS": Bound(True, 0, 1000),  # empty: not known
}
