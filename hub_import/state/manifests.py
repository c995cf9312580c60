"""Manifests: each Hub import call's asset list, saved in the state bucket before it is sent.

MANIFEST_PREFIX/YYYY/MM/DD/HHMMSSZ-<flush>-<n>.json is exactly the JSON array of assets the
Hub import takes, and the Hub UI accepts by hand ("Upload Data URL", Storage Method = the
integration). Beside it, <same>.state.json keeps its state and history:

    {"state": "pending" | "sent" | "failed", "destination": {...}, "objects": [ObjectRef...],
     "attempts": n, "owner": flush id, "lease_until": t, "created_at": t, "updated_at": t,
     "hub_answer": {...} | null, "error": str | null,
     "uncertain_since": t | null, "not_before": t, "reconcile": {...} | null, "heal_since": t | null,
     "dead_letters_unconfirmed": [externalId...] (a failed manifest of rejected assets)}

A failed manifest of assets the Hub rejected names, in `dead_letters_unconfirmed`, those whose
dead letter Pub/Sub has not confirmed yet (all of them when it is written); their messages are
not acked until it has (flush/dead_letters.py).

A pending manifest with `uncertain_since` was sent, or may have been, without a readable answer:
it is not sent again before `not_before` (the settle time), and then only what a reconcile
(hub/reconcile.py, its progress in "reconcile") shows the Hub does not hold. `heal_since` stays
with its assets for good once an import of them had an unknown outcome: whatever is sent of
them afterwards is checked later for a second copy (heal.py). Times named since are the Hub's.

A pending manifest also has a marker at MANIFEST_PREFIX/pending/<name> ({"manifest", "at"}),
written before its state, so that a flush finds unfinished work with one small listing. Together the sent manifests are the import history;
each holds only what was new.

A failed manifest that owes dead letters also has a marker MANIFEST_PREFIX/owed/<name>
({"manifest", "at"}), written before its state and dropped once it owes none: every flush finds
what is still owed with one small listing and sends it (flush/dead_letters.py `sweep_owed`),
whether or not the files' messages ever come back.

A final state (sent, failed) is written here only, with `settled_at`; with a results publisher
(results.py), a marker MANIFEST_PREFIX/results/<name> is written first and its hook called after,
and the marker stays until the result is confirmed published.
"""
from __future__ import annotations

from hub_import.core import clock
from dataclasses import dataclass, field

from hub_import.core.assets import Asset
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination

from .store import ConflictError, JsonStore

PENDING, SENT, FAILED = "pending", "sent", "failed"
UNCONFIRMED = "dead_letters_unconfirmed"  # a failed manifest's field: externalIds whose dead letter is owed
FINAL = (SENT, FAILED)


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


def settle_window(state: dict, settle_s: float, hub_offset: float) -> tuple[float | None, float]:
    """For a pending manifest nobody holds: (since, not_before). `since` (Hub time) is set when an
    import of it may have been stored, and then nothing of it may be sent before `not_before`
    (our time). A manifest whose flush died holding it (its lease ran out, not given back) may
    have been sent by that flush up to the lease's end: it settles one settle time after that."""
    since, not_before = state.get("uncertain_since"), float(state.get("not_before") or 0)
    lease_until = float(state.get("lease_until") or 0)
    if lease_until:
        since = since if since is not None else float(state.get("created_at", 0)) + hub_offset
        not_before = max(not_before, lease_until + settle_s)
    return since, not_before


class ManifestStore:
    def __init__(self, store: JsonStore, prefix: str, results=None):
        """`results`: a results.Results whose `settled(manifest)` is called after each final state."""
        self.store, self.prefix, self.results = store, prefix, results
        self._seq = 0

    def new_path(self, flush_id: str, failed: bool = False) -> str:
        self._seq += 1
        now = clock.utcnow()
        kind = "-failed" if failed else ""
        return f"{self.prefix}{now:%Y/%m/%d/%H%M%S}Z-{flush_id}-{self._seq:03d}{kind}.json"

    def _marker(self, path: str, kind: str = "pending") -> str:
        return f"{self.prefix}{kind}/{path.removeprefix(self.prefix).replace('/', '_')}"

    def create(self, path: str, destination: Destination, assets: list[Asset], objects: list[ObjectRef],
               owner: str, lease_s: float, state: str = PENDING, error: str | None = None,
               uncertain_since: float | None = None, not_before: float = 0,
               heal_since: float | None = None, **more) -> Manifest:
        """Write the manifest and its state (and a pending marker when pending); `more`: further
        fields of its state (a failed manifest's dead letters still owed)."""
        now = clock.now()
        body = {"state": state, "destination": destination.to_json(), "objects": [o.to_json() for o in objects],
                "attempts": 0, "owner": owner, "lease_until": now + lease_s, "created_at": now,
                "updated_at": now, "hub_answer": None, "error": error, "uncertain_since": uncertain_since,
                "not_before": not_before, "heal_since": heal_since, **more}
        self.store.write(path, [a.to_json() for a in assets])
        if state == PENDING:
            self.store.write(self._marker(path), {"manifest": path, "at": now})
        elif state in FINAL:
            body["settled_at"] = now
            self._mark_result(path)
        if body.get(UNCONFIRMED):
            self.store.write(self._marker(path, "owed"), {"manifest": path, "at": now})
        generation = self.store.write(state_path(path), body)
        manifest = Manifest(path, destination, list(assets), list(objects), body, generation)
        if state in FINAL and self.results:
            self.results.settled(manifest)
        return manifest

    def update(self, manifest: Manifest, **changes) -> bool:
        """Compare-and-swap the state; False if another flush changed it first."""
        body = {**manifest.state, **changes, "updated_at": clock.now()}
        settles = body["state"] in FINAL and body["state"] != manifest.state.get("state")
        if settles:
            body["settled_at"] = body["updated_at"]
            self._mark_result(manifest.path)
        try:
            manifest.state_generation = self.store.write(manifest.state_path, body,
                                                         if_generation_match=manifest.state_generation)
        except ConflictError:
            return False
        manifest.state = body
        if body["state"] != PENDING:
            self.store.delete(self._marker(manifest.path))
        if settles and self.results:
            self.results.settled(manifest)
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
        """Remove a manifest whose every asset has moved to another manifest. Its state first: a flush
        killed part way leaves no pending state without its assets (found by no resume, shown by
        `status` for good), at most a marker a later resume drops and an assets file no state names."""
        for path in (manifest.state_path, self._marker(manifest.path), manifest.path):
            self.store.delete(path)

    def drop_marker(self, path: str) -> None:
        self.store.delete(self._marker(path))

    def drop_marker_if_before(self, path: str, when: float) -> bool:
        """Drop the pending marker of `path` if it was written before `when` (or says not when);
        True if it is gone. A marker without its state may be a live flush's, about to write it."""
        doc = self.store.read(self._marker(path))
        if doc is not None and float(doc.body.get("at") or 0) >= when:
            return False
        self.drop_marker(path)
        return True

    # -- results not yet confirmed published (results.py) -----------------------------------------
    def _mark_result(self, path: str) -> None:
        if self.results:
            self.store.write(self._marker(path, "results"), {"manifest": path, "at": clock.now()})

    def marked_results(self):
        """(manifest path, marked at) of each result not yet confirmed published, oldest first."""
        return self._marked("results")

    def _marked(self, kind: str):
        for marker in self.store.list(f"{self.prefix}{kind}/"):
            doc = self.store.read(marker)
            if doc is not None:
                yield doc.body["manifest"], float(doc.body.get("at", 0))

    def unmark_result(self, path: str) -> None:
        self.store.delete(self._marker(path, "results"))

    # -- failed manifests that still owe dead letters (flush/dead_letters.py) ---------------------
    def owed(self):
        """(manifest path, marked at) of each failed manifest that may still owe dead letters, oldest first."""
        return self._marked("owed")

    def unmark_owed(self, path: str) -> None:
        self.store.delete(self._marker(path, "owed"))
