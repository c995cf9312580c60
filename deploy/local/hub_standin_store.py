"""What the Hub stand-in holds: projects, batches, storages and assets, in memory and on disk.

The data directory keeps `hub.json` (projects with their batches, storages) and `assets.jsonl`,
an append-only log: one line per stored asset, and one tombstone line per soft-deleted asset,
so that a restart holds exactly what the Hub held before it.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

# Characters that may stand raw in a URL (RFC 3986 unreserved + reserved) and '%' for escapes.
_URL_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?[]@!$&'()*,;=%")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Fields of a stored asset that the Hub's answers never show.
_PRIVATE = ("_seq", "project", "deleted", "deletedAt")


def object_id(*parts: str) -> str:
    """A 24-hex id like the Hub's (MongoDB ObjectIds); deterministic when given parts."""
    if parts:
        return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:24]
    return secrets.token_hex(12)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_data_url(url: object) -> str | None:
    """Why `url` is not an acceptable asset `data` URL, or None when it is."""
    if not isinstance(url, str) or not url:
        return "required (an absolute https:// URL)"
    if not url.startswith("https://") or len(url) <= len("https://"):
        return "must be an absolute https:// URL"
    for ch in url:
        if ord(ch) > 127:
            return f"raw non-ASCII character {ch!r}; percent-encode it as UTF-8"
        if ch == " ":
            return "raw space; percent-encode it as %20"
        if ord(ch) < 32 or ord(ch) == 127:
            return "raw control character; percent-encode it"
        if ch == "#":
            return "raw '#'; percent-encode it as %23"
        if ch not in _URL_CHARS:
            return f"raw {ch!r} must be percent-encoded"
    if _BAD_ESCAPE.search(url):
        return "malformed percent-escape ('%' not followed by two hex digits)"
    path = url[len("https://"):].split("?", 1)[0]
    if "+" in path:
        return "raw '+' in the path; a space is %20 and a plus is %2B"
    return None


def public_asset(record: dict, created_at: bool = True, data: bool = True) -> dict:
    """An asset as a listing row shows it; without `createdAt` when `created_at` is false, without
    `data` when `data` is false."""
    return {k: v for k, v in record.items()
            if k not in _PRIVATE and (created_at or k != "createdAt") and (data or k != "data")}


def matches(asset: dict, filters: dict, external_id: str = "exact") -> bool:
    """Whether `asset` passes the listing's `filters`; `external_id` is how that filter matches:
    "exact", "substring" (the value anywhere in the externalId) or "ignored"."""
    for key, wanted in filters.items():
        if key == "batches":
            if not set(wanted if isinstance(wanted, list) else [wanted]) <= set(asset.get("batches", [])):
                return False
        elif key == "_id" and asset.get("_id") != wanted:
            return False
        elif key == "externalId" and external_id != "ignored":
            if external_id == "substring" and isinstance(wanted, str):
                if wanted not in asset.get("externalId", ""):
                    return False
            elif asset.get("externalId") != wanted:
                return False
    return True


class HubState:
    """Projects, batches, storages and assets, kept in memory and in the data directory."""

    def __init__(self, data_dir: Path, now=None, new_id=None):
        # Seams for the simulation (tests/simulation): the time assets are stamped with, and their ids.
        self.now_iso, self.new_id = now or now_iso, new_id or object_id
        self.lock = threading.RLock()
        self.data_dir = data_dir
        self.projects: dict[str, dict] = {}
        self.storages: dict[str, dict] = {}
        self.assets: dict[str, list[dict]] = defaultdict(list)  # every asset ever stored, oldest first
        self._by_id: dict[str, dict] = {}
        self._seq = 0
        data_dir.mkdir(parents=True, exist_ok=True)
        self._load()

    # -- persistence -------------------------------------------------------------------
    @property
    def _meta_path(self) -> Path:
        return self.data_dir / "hub.json"

    @property
    def _assets_path(self) -> Path:
        return self.data_dir / "assets.jsonl"

    def _load(self) -> None:
        if self._meta_path.exists():
            meta = json.loads(self._meta_path.read_text())
            self.projects, self.storages = meta["projects"], meta["storages"]
            loaded = now_iso()
            for storage in self.storages.values():  # data files from before storages had one
                storage.setdefault("createdAt", loaded)
        if self._assets_path.exists():
            with self._assets_path.open() as f:
                for line in f:
                    if line.strip():
                        self._apply(json.loads(line))

    def _apply(self, line: dict) -> None:
        if "tombstone" in line:
            record = self._by_id.get(line["tombstone"])
            if record is not None:
                record.update(deleted=True, deletedAt=line["deletedAt"])
            return
        self.assets[line["project"]].append(line)
        self._by_id[line["_id"]] = line
        self._seq = max(self._seq, line["_seq"])

    def _append(self, lines: list[dict]) -> None:
        with self._assets_path.open("a") as f:
            f.writelines(json.dumps(line) + "\n" for line in lines)

    def _save_meta(self) -> None:
        tmp = self._meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"projects": self.projects, "storages": self.storages}, indent=1))
        tmp.replace(self._meta_path)

    # -- set-up ------------------------------------------------------------------------
    def ensure_project(self, project_id: str) -> dict:
        with self.lock:
            if project_id not in self.projects:
                self.projects[project_id] = {"_id": project_id, "name": project_id, "batches": []}
                self._save_meta()
            return self.projects[project_id]

    def ensure_storage(self, storage_id: str, bucket: str = "") -> dict:
        with self.lock:
            if storage_id not in self.storages:
                self.storages[storage_id] = {"_id": storage_id, "name": storage_id, "type": "gcs",
                                             "bucket": bucket, "public": False, "createdAt": self.now_iso()}
                self._save_meta()
            return self.storages[storage_id]

    def list_storages(self, newest_first: bool) -> list[dict]:
        """Every storage integration by creation time; ties (same millisecond) by creation order."""
        with self.lock:
            ordered = sorted(enumerate(self.storages.values()), key=lambda p: (p[1]["createdAt"], p[0]),
                             reverse=newest_first)
        return [storage for _, storage in ordered]

    def create_batch(self, project_id: str, name: str) -> dict:
        with self.lock:
            project = self.projects[project_id]
            for batch in project["batches"]:
                if batch["name"] == name:
                    return batch
            batch = {"_id": object_id(project_id, name), "name": name}
            project["batches"].append(batch)
            self._save_meta()
            return batch

    def batch_id(self, project_id: str, id_or_name: object) -> str | None:
        for batch in self.projects[project_id]["batches"]:
            if id_or_name in (batch["_id"], batch["name"]):
                return batch["_id"]
        return None

    # -- assets ------------------------------------------------------------------------
    def add_assets(self, project_id: str, assets: list[dict]) -> int:
        """Store `assets` (already validated) under new ids, created now; returns how many."""
        with self.lock:
            created = self.now_iso()
            lines = []
            for asset in assets:
                self._seq += 1
                lines.append({"_id": self.new_id(), "project": project_id, "createdAt": created,
                              "_seq": self._seq, **asset})
            self._append(lines)
            for line in lines:
                self._apply(line)
            return len(lines)

    def live(self, project_id: str) -> list[dict]:
        """The project's assets that are not deleted, oldest first."""
        with self.lock:
            return [a for a in self.assets.get(project_id, []) if not a.get("deleted")]

    def indexed(self, project_id: str, lag_s: float = 0.0) -> list[dict]:
        """The live assets the listing shows, oldest first: those created at least `lag_s` seconds
        ago (a search index behind the database), by the clock that stamps `createdAt` (`now`)."""
        rows = self.live(project_id)
        if lag_s <= 0:
            return rows
        cutoff = datetime.fromisoformat(self.now_iso().replace("Z", "+00:00")).timestamp() - lag_s
        return [a for a in rows
                if datetime.fromisoformat(a["createdAt"].replace("Z", "+00:00")).timestamp() <= cutoff]

    def unknown_ids(self, project_id: str, asset_ids: list[str]) -> list[str]:
        """Those of `asset_ids` that name no live asset of `project_id`."""
        with self.lock:
            return [i for i in asset_ids if (r := self._by_id.get(i)) is None
                    or r["project"] != project_id or r.get("deleted")]

    def delete_assets(self, project_id: str, asset_ids: list[str]) -> int:
        """Soft-delete the live assets of `project_id` among `asset_ids`; others are left alone.
        Returns how many were deleted."""
        with self.lock:
            unknown = set(self.unknown_ids(project_id, asset_ids))
            when = self.now_iso()
            lines = [{"tombstone": i, "project": project_id, "deletedAt": when}
                     for i in dict.fromkeys(asset_ids) if i not in unknown]
            self._append(lines)
            for line in lines:
                self._apply(line)
            return len(lines)

    def counts(self) -> dict:
        """Per project: live assets, deleted ones, and how many externalIds more than one live
        asset carries (the judge of "exactly once")."""
        with self.lock:
            projects = list(self.assets)
            live = {p: self.live(p) for p in projects}
            deleted = {p: len(self.assets[p]) - len(live[p]) for p in projects}
        repeated = {p: sum(1 for n in Counter(a["externalId"] for a in rows).values() if n > 1)
                    for p, rows in live.items()}
        return {"assets": {p: len(rows) for p, rows in live.items()}, "deleted": deleted,
                "duplicate_external_ids": repeated}
