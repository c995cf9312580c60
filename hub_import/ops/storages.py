"""The Hub storage integrations as the operator sees them: `storages` lists the organization's,
`check` judges the one the settings name (or the one the flush must find), and `status` and
`trace` read what the flush last found (state/storage_record.py) without asking the Hub."""
from __future__ import annotations

from hub_import.core import clock

from hub_import.core.bucket_storage import Finding, find
from hub_import.core.hub_quirks import storage_bucket
from hub_import.core.settings import Settings
from hub_import.core.text import for_terminal
from hub_import.state.storage_record import StorageRecord


def listing(hub, landing_bucket: str, deadline: float | None = None) -> list[dict]:
    """Every storage integration of the organization (every page), each with whether it reads the
    landing bucket: `storages --json`, documented in docs/json/storages.md (the Hub's values as
    strings, or null: whatever type the Hub answers, the schema's types hold)."""
    rows = hub.storages(deadline=deadline or clock.monotonic() + 60)
    return [{"_id": _text(r.get("_id")) or "", "name": _text(r.get("name")),
             "type": _text(r.get("type") or r.get("provider")), "bucket": _text(r.get("bucket")),
             "landing": bool(landing_bucket) and storage_bucket(r) == landing_bucket.lower()}
            for r in rows]


def _text(value) -> str | None:
    return None if value is None or value == "" else str(value)


def listing_lines(rows: list[dict]) -> list[str]:
    """One line per integration: id, type, bucket, name; the landing bucket's marked."""
    width = max((len(r["_id"]) for r in rows), default=0)
    return [for_terminal(f"{r['_id']:<{width}}  {r['type'] or '?':<5}  bucket {r['bucket'] or '?'}  name {r['name'] or '?'}"
                         + ("  <- the landing bucket" if r["landing"] else "")) for r in rows]


def last_found(settings: Settings, store) -> dict | None:
    """What the flush last found for the landing bucket (state, ids, says, since), when it must find
    the integration; None when the settings name it (or the bucket is public)."""
    if not settings.discovers_storage:
        return None
    kept = StorageRecord(store, settings.ledger_prefix).read()
    if kept is None:
        return {"state": "unknown", "bucket": settings.landing_bucket, "ids": [], "since": None,
                "says": f"no flush has looked for the Hub storage integration of bucket {settings.landing_bucket} "
                        "yet (the scheduler calls the flush every minute)"}
    finding, since = kept
    return {**finding.to_json(), "since": since}


def judge_found(settings: Settings, hub, deadline: float) -> Finding:
    """What the Hub lists for the landing bucket now (HubError when it cannot be asked)."""
    return find(hub.storages(deadline=deadline), settings.landing_bucket)


def judge_configured(settings: Settings, hub, storage_id: str, deadline: float) -> tuple[bool, str, str]:
    """(ok, detail, fix) for an integration the settings name: it exists, and reads the landing
    bucket (HubError when the Hub cannot be asked)."""
    found = hub.storage(storage_id, deadline=deadline)
    if not found:
        return False, "no such storage integration", ("create it in the Hub UI (Organization > Storages), or leave "
                                                      "hub_storage_id (HUB_STORAGE_ID) empty: the flush then finds the "
                                                      "one for the landing bucket")
    bucket, landing = storage_bucket(found), settings.landing_bucket
    detail = f"{found.get('type') or found.get('provider') or '?'} bucket {found.get('bucket') or '?'}"
    if landing and bucket and bucket != landing.lower():
        return False, f"{detail}, not the landing bucket {landing}", (
            f"name the integration that reads gs://{landing} (`python -m hub_import storages` lists them)")
    return True, detail, ""
