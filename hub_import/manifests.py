"""Manifests: each Hub import call's asset list, saved in the state bucket before it is sent.

MANIFEST_PREFIX/YYYY/MM/DD/HHMMSSZ-<flush>-<n>.json is exactly the JSON array of assets the
Hub import takes, and the Hub UI accepts by hand ("Upload Data URL", Storage Method = the
integration). Beside it, <same>.state.json keeps its state and history:

    {"state": "pending" | "sent" | "failed", "destination": {...}, "objects": [ObjectRef...],
     "attempts": n, "owner": flush id, "lease_until": t, "created_at": t, "updated_at": t,
     "hub_answer": {...} | null, "error": str | null,
     "uncertain_since": t | null, "not_before": t, "reconcile": {...} | null}

A pending manifest with `uncertain_since` was sent, or may have been, without a readable answer:
it is not sent again before `not_before` (the settle time), and then only what a reconcile
(hub/reconcile.py, its progress in "reconcile") shows the Hub does not hold.

A pending manifest also has a marker at MANIFEST_PREFIX/pending/<name>, so that a flush finds
unfinished work with one small listing. Together the sent manifests are the import history;
each holds only what was new.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .assets import Asset
from .gcs import ConflictError, JsonStore
from .objects import ObjectRef
from .routes import Destination

PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass
class Manifest:
    path: str
    destination: Destination
    assets: list[Asset]
    objects: list[ObjectRef]
    state: dict = field(default_factory=dict)
    state_generation: int = 0

    @property
    def state_path(self) -> str:
        return state_path(self.path)


def state_path(path: str) -> str:
    return path.removesuffix(".json") + ".state.json"


class ManifestStore:
    def __init__(self, store: JsonStore, prefix: str):
        self.store, self.prefix = store, prefix
        self._seq = 0

    def new_path(self, flush_id: str, failed: bool = False) -> str:
        self._seq += 1
        now = datetime.now(timezone.utc)
        kind = "-failed" if failed else ""
        return f"{self.prefix}{now:%Y/%m/%d/%H%M%S}Z-{flush_id}-{self._seq:03d}{kind}.json"

    def _marker(self, path: str) -> str:
        return f"{self.prefix}pending/{path.removeprefix(self.prefix).replace('/', '_')}"

    def create(self, path: str, destination: Destination, assets: list[Asset], objects: list[ObjectRef],
               owner: str, lease_s: float, state: str = PENDING, error: str | None = None,
               uncertain_since: float | None = None, not_before: float = 0) -> Manifest:
        """Write the manifest and its state (and a pending marker when pending)."""
        now = time.time()
        body = {"state": state, "destination": destination.to_json(), "objects": [o.to_json() for o in objects],
                "attempts": 0, "owner": owner, "lease_until": now + lease_s, "created_at": now,
                "updated_at": now, "hub_answer": None, "error": error, "uncertain_since": uncertain_since,
                "not_before": not_before}
        self.store.write(path, [a.to_json() for a in assets])
        if state == PENDING:
            self.store.write(self._marker(path), {"manifest": path})
        generation = self.store.write(state_path(path), body)
        return Manifest(path, destination, list(assets), list(objects), body, generation)

    def update(self, manifest: Manifest, **changes) -> bool:
        """Compare-and-swap the state; False if another flush changed it first."""
        body = {**manifest.state, **changes, "updated_at": time.time()}
        try:
            manifest.state_generation = self.store.write(manifest.state_path, body,
                                                         if_generation_match=manifest.state_generation)
        except ConflictError:
            return False
        manifest.state = body
        if body["state"] != PENDING:
            self.store.delete(self._marker(manifest.path))
        return True

    def rewrite_assets(self, manifest: Manifest, assets: list[Asset], objects: list[ObjectRef]) -> None:
        """Keep in the manifest only `assets` (what the Hub got), so the history stays exact."""
        self.store.write(manifest.path, [a.to_json() for a in assets])
        manifest.assets, manifest.objects = list(assets), list(objects)
        manifest.state = {**manifest.state, "objects": [o.to_json() for o in objects]}

    def state_of(self, path: str) -> dict | None:
        doc = self.store.read(state_path(path))
        return doc.body if doc else None

    def load(self, path: str) -> Manifest | None:
        state = self.store.read(state_path(path))
        assets = self.store.read(path)
        if state is None or assets is None:
            return None
        return Manifest(path, Destination.from_json(state.body["destination"]),
                        [Asset.from_json(a) for a in assets.body],
                        [ObjectRef.from_json(o) for o in state.body["objects"]], state.body, state.generation)

    def pending_paths(self):
        """Paths of manifests still pending, oldest first (from the markers)."""
        for marker in self.store.list(f"{self.prefix}pending/"):
            doc = self.store.read(marker)
            if doc is not None:
                yield doc.body["manifest"]

    def discard(self, manifest: Manifest) -> None:
        """Remove a manifest whose every asset has moved to another manifest."""
        for path in (manifest.path, manifest.state_path, self._marker(manifest.path)):
            self.store.delete(path)

    def drop_marker(self, path: str) -> None:
        self.store.delete(self._marker(path))
