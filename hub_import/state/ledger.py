"""The ledger: what makes "each object once" true across redeliveries, retries and crashes.

One record per object (or per object generation, when ON_OVERWRITE=import) in the state
bucket, at LEDGER_PREFIX/<hash>.json. A flush claims an object by creating its record with
`if_generation_match=0`: of any number of flushes at once, exactly one wins. The record names
the manifest M that carries the object, and that is the only write per object: when the Hub
accepts M, one marker LEDGER_PREFIX/manifests/<hash of M>.json says so for all of M's objects
(kept for good, unlike manifests, which age out). So an object is

    in the Hub        when its record's manifest has a sent marker (or the record says sent);
    failed            when its record says failed (it is in a failed manifest, dead-lettered);
    on its way        when its record's manifest is pending (its flush, or a resume, ends it);
    orphaned          when its manifest was never written (its flush died first): the claim is
                      taken over after the claim timeout;
    deleted           when it left the bucket and its asset(s) the Hub (ON_DELETE=delete), or it
                      left before it was imported: `deleted_generation` is the generation that
                      went. An import of that generation or an older one is dropped; a newer one
                      (the name uploaded again) claims the record anew.

Records name the Hub project and data URL their asset went to (since deletions: older records
have only the manifest, whose destination says the project while it is kept).

When each generation is imported, the ledger also lists the generations it claimed or recorded
deleted of each name (name_index.py), before it writes their records, so that `trace` finds a
generation's record once the object is gone.

Objects that leave a manifest (rejected by the Hub, or moved to a new pending manifest when
part of it went in) have their records rewritten to point at where they went.
"""
from __future__ import annotations

import hashlib
from hub_import.core import clock
from dataclasses import dataclass

from hub_import.core.objects import ObjectRef

from .name_index import NameIndex
from .store import ConflictError, Doc, JsonStore

CLAIMED, SENT, FAILED, DELETED = "claimed", "sent", "failed", "deleted"
# The object left the bucket and its assets (`asset_ids`) are being soft-deleted: written before
# the DELETE, so that a DELETE whose answer is lost is finished later whatever the bucket holds then.
DELETING = "deleting"


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to claim one object: won (with the record's generation), or the
    record that is already there."""

    won: bool
    generation: int = 0
    existing: Doc | None = None


class Ledger:
    def __init__(self, store: JsonStore, prefix: str, each_generation: bool):
        self.store, self.prefix, self.each_generation = store, prefix, each_generation
        self._sent: dict[str, float] = {}  # manifests known sent, and when: a sent manifest stays sent
        # the generations recorded of each name (only when records are per generation: no GCS call otherwise)
        self.names = NameIndex(store, prefix) if each_generation else None

    def _list(self, ref: ObjectRef) -> None:
        """List the generation of `ref` under its name, before its record is written (raises as a write does)."""
        if self.names is not None:
            self.names.add(ref.bucket, ref.name, ref.generation)

    def key(self, ref: ObjectRef) -> str:
        """The object's identity for "once": bucket and name, plus generation when each is imported."""
        ident = f"{ref.bucket}/{ref.name}" + (f"#{ref.generation}" if self.each_generation else "")
        return hashlib.sha256(ident.encode()).hexdigest()

    def path(self, ref: ObjectRef) -> str:
        key = self.key(ref)
        return f"{self.prefix}{key[:2]}/{key}.json"

    def _record(self, ref: ObjectRef, state: str, manifest: str, flush_id: str, external_id: str,
                project: str = "", data: str = "") -> dict:
        record = {"state": state, "object": ref.uri, "generation": ref.generation, "external_id": external_id,
                  "manifest": manifest, "flush": flush_id, "at": clock.now()}
        if project:
            record.update(project=project, data=data)
        return record

    def claim(self, ref: ObjectRef, manifest: str, flush_id: str, external_id: str, *, project: str = "",
              data: str = "") -> Claim:
        """Create the record as claimed by this flush for `manifest` (its asset `external_id`, bound
        for `project` with data URL `data`), unless one exists."""
        self._list(ref)
        try:
            generation = self.store.create(self.path(ref), self._record(ref, CLAIMED, manifest, flush_id,
                                                                         external_id, project, data))
            return Claim(True, generation)
        except ConflictError:
            existing = self.store.read(self.path(ref))
            if existing is None:  # deleted in between: try once more
                return self.claim(ref, manifest, flush_id, external_id, project=project, data=data)
            return Claim(False, existing.generation, existing)

    def take_over(self, ref: ObjectRef, generation: int, manifest: str, flush_id: str, external_id: str, *,
                  project: str = "", data: str = "") -> Claim:
        """Replace a stale claim, or a deleted record (record at `generation`), with ours; lost if
        someone was faster."""
        self._list(ref)
        try:
            new = self.store.write(self.path(ref), self._record(ref, CLAIMED, manifest, flush_id, external_id,
                                                                project, data), if_generation_match=generation)
            return Claim(True, new)
        except ConflictError:
            return Claim(False, generation, self.store.read(self.path(ref)))

    def settle(self, ref: ObjectRef, state: str, manifest: str, flush_id: str, external_id: str,
               generation: int | None = None, *, project: str = "", data: str = "") -> bool:
        """Move the record to `state` (sent or failed); False if it changed under us."""
        try:
            self.store.write(self.path(ref), self._record(ref, state, manifest, flush_id, external_id, project,
                                                          data), if_generation_match=generation)
            return True
        except ConflictError:
            return False

    def mark_deleted(self, ref: ObjectRef, generation: int, prior: dict, flush_id: str, *, asset_ids=(),
                     project: str = "", note: str = "", at: float | None = None, state: str = DELETED,
                     left_ids=()) -> int:
        """Record that generation `ref.generation` left the bucket, over the record at `generation`
        (0: only if there is none: an object never imported), keeping what `prior` (that record)
        says of the import. `asset_ids`: what was soft-deleted in `project`. False if the record
        changed under us (0), else the record's new generation. `state=DELETING`: the intent, before the DELETE.
        `left_ids`: assets listed under its externalId that could not be proven ours, left in the Hub."""
        gone = max(ref.generation, int(prior.get("deleted_generation") or 0))
        record = {**{k: v for k, v in prior.items() if k in ("generation", "external_id", "manifest", "project",
                                                                "data", "asset_ids")},
                  "state": state, "object": ref.uri, "deleted_generation": gone, "flush": flush_id,
                  "at": clock.now() if at is None else at}
        record.setdefault("generation", ref.generation)
        if asset_ids or "asset_ids" not in record:
            record["asset_ids"] = list(asset_ids)
        if project:
            record["project"] = project
        if left_ids:
            record["left_ids"] = list(left_ids)
        if note:
            record["note"] = note
        self._list(ref)
        try:
            written = self.store.write(self.path(ref), record, if_generation_match=generation) or 1
        except ConflictError:
            return 0
        return written

    def release(self, ref: ObjectRef, generation: int) -> None:
        """Give a claim back (only if it is still the one we made)."""
        try:
            self.store.delete(self.path(ref), if_generation_match=generation)
        except ConflictError:
            pass

    def read(self, ref: ObjectRef) -> Doc | None:
        return self.store.read(self.path(ref))

    def _marker(self, manifest: str) -> str:
        return f"{self.prefix}manifests/{hashlib.sha256(manifest.encode()).hexdigest()}.json"

    def mark_sent(self, manifest: str, assets: int) -> None:
        """Every object whose record names `manifest` is in the Hub."""
        at = clock.now()
        self.store.write(self._marker(manifest), {"state": SENT, "manifest": manifest, "assets": assets, "at": at})
        self._sent[manifest] = at

    def is_sent(self, manifest: str) -> bool:
        """Whether `manifest` is marked sent (a marker is never removed, so a yes is remembered)."""
        if manifest in self._sent:
            return True
        marker = self.store.read(self._marker(manifest)) if manifest else None
        if marker is not None:
            self._sent[manifest] = float(marker.body.get("at") or 0)
            return True
        return False

    def sent_at(self, manifest: str) -> float | None:
        """When `manifest` was marked sent (wall time), or None when it is not."""
        return self._sent[manifest] if self.is_sent(manifest) else None

    # -- deletions told (flush/deletion_results.py) whose result Pub/Sub has not confirmed yet ------
    def _untold_prefix(self, ref: ObjectRef) -> str:
        return f"{self.prefix}untold/{self.key(ref)}/"

    def mark_untold(self, ref: ObjectRef, result_id: str, result: dict) -> str:
        """Keep `result` (a deletion's result, under `result_id`) until `told`; returns its marker."""
        path = f"{self._untold_prefix(ref)}{hashlib.sha256(result_id.encode()).hexdigest()[:32]}.json"
        self.store.write(path, result)
        return path

    def untold(self, ref: ObjectRef) -> list[tuple[str, dict]]:
        """(marker, result) of each deletion of the object whose result is not confirmed yet."""
        docs = [(path, self.store.read(path)) for path in self.store.list(self._untold_prefix(ref))]
        return [(path, doc.body) for path, doc in docs if doc is not None]

    def told(self, marker: str) -> None:
        self.store.delete(marker)
