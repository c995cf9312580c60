"""The deletion guard's state (ON_DELETE=delete, MAX_DELETIONS_PER_HOUR): the deletions held past
the limit, and the count of deletions taken on in the rolling hour.

Held deletions, one small document per object (its ledger key), so that holding, approving and
dropping one never races another's:

    LEDGER_PREFIX/held-deletions/<ledger key>.json
    {"object": "gs://b/n", "bucket", "name", "generation", "event", "event_id", "held_at", "flush",
     "limit", "approved_at"?}

A held deletion is only this document: the ledger record is untouched (it still says sent), so the
asset stays in the Hub, and an import of the name meets the same record as before. `--discard`
moves the document to LEDGER_PREFIX/kept-deletions/<ledger key>.json (with `discarded_at`): a
person chose to keep that generation's assets, so a deletion of it queued again (a duplicate
delivery, `sweep --deletions`) is acked as discarded, never carried out; a newer generation's
deletion is a deletion of its own. `approved_at` is set by `deletions --approve` before it queues
the deletion again; the flush carries out an approved deletion past the limit, and drops the
document once the deletion is done, whatever its outcome.

The window, one document, written under a generation precondition (one flush at a time holds the
lease; a writer racing it reads again and retries):

    LEDGER_PREFIX/deletion-window.json   {"minutes": {"<epoch minute>": count, ...}}

a minute's count leaves the hour once the minute has ended more than an hour ago. A deletion is
counted when it is taken on, before its DELETE, but in the minute its DELETE lands at the latest
(the flush's deadline, the Hub's timeout) plus a margin for clocks (CLOCK_MARGIN_S, a later
flush's clock ahead of this one's): so the limit holds over every 60-minute span of DELETEs (a
deletion is counted longer than an hour, never shorter; a minute ahead may have a count). A
deletion whose DELETE is never sent in the turn that counted it (its lookup failed, the Hub holds
nothing of it, the name was uploaded again) has its count given back (`give_back`) before it is
counted again; a crash in between only counts it too early, never lets one past the limit.
"""
from __future__ import annotations

from typing import Iterator

from hub_import.core import clock
from hub_import.core.objects import ObjectRef

from .store import ConflictError, Doc, JsonStore, update

HOUR_S = 3600
CLOCK_MARGIN_S = 60.0  # how far a later flush's clock may run ahead of this one's
ATTEMPTS = 8  # read-modify-write attempts when another writer changed the document in between


class HeldDeletions:
    """The held deletions under LEDGER_PREFIX/held-deletions/."""

    def __init__(self, store: JsonStore, ledger_prefix: str):
        self.store, self.prefix = store, f"{ledger_prefix}held-deletions/"

    def path(self, key: str) -> str:
        """The document of the object whose ledger key is `key`."""
        return f"{self.prefix}{key}.json"

    def hold(self, key: str, ref: ObjectRef, *, event: str, event_id: str, flush_id: str, limit: int) -> None:
        """Record the deletion of `ref` as held (a newer generation said gone replaces an older one;
        one already held, or approved, stays as it is). Raises the store's errors."""
        def held(doc: Doc | None) -> dict | None:
            if doc is not None and int(doc.body.get("generation") or 0) >= ref.generation:
                return None
            body = {"object": ref.uri, "bucket": ref.bucket, "name": ref.name, "generation": ref.generation,
                    "event": event, "event_id": event_id, "held_at": clock.now(), "flush": flush_id,
                    "limit": limit}
            if doc is not None and doc.body.get("approved_at"):
                body["approved_at"] = doc.body["approved_at"]
            return body
        update(self.store, self.path(key), held, ATTEMPTS)

    def read(self, key: str) -> Doc | None:
        return self.store.read(self.path(key))

    def paths(self) -> Iterator[str]:
        """The path of every held deletion (listed, not read)."""
        return (p for p in self.store.list(self.prefix) if p.endswith(".json"))

    def records(self) -> Iterator[tuple[str, Doc]]:
        """(path, document) of every held deletion still there when read."""
        for path in self.paths():
            doc = self.store.read(path)
            if doc is not None:
                yield path, doc

    def approve(self, path: str, doc: Doc) -> int:
        """Mark the held deletion at `path` (read as `doc`) approved; its new generation, or
        ConflictError when it changed since."""
        if doc.body.get("approved_at"):
            return doc.generation
        return self.store.write(path, {**doc.body, "approved_at": clock.now()}, if_generation_match=doc.generation)

    def kept_path(self, key: str) -> str:
        return f"{self.prefix.removesuffix('held-deletions/')}kept-deletions/{key}.json"

    def kept(self, key: str) -> Doc | None:
        """The discarded (kept) deletion of the object whose ledger key is `key`, if any."""
        return self.store.read(self.kept_path(key))

    def keeps(self, key: str, generation: int) -> bool:
        """Whether a person discarded the deletion of this generation (or a newer one) of the object."""
        doc = self.kept(key)
        return doc is not None and int(doc.body.get("generation") or 0) >= generation

    def discard(self, path: str) -> bool:
        """Keep the assets of the held deletion at `path`: its document moves to kept-deletions/
        (written first: a crash in between leaves it held, never forgotten); False when it was not there,
        or changed since it was read (a newer generation held: it stays held)."""
        doc = self.store.read(path)
        if doc is None:
            return False
        key = path.removeprefix(self.prefix).removesuffix(".json")
        self.store.write(self.kept_path(key), {**doc.body, "discarded_at": clock.now()})
        try:  # only the deletion read: a newer one a flush held meanwhile stays held (a deletion of its own)
            return bool(self.store.delete(path, if_generation_match=doc.generation))
        except ConflictError:
            return False

    def drop(self, path: str) -> bool:
        """Remove a held deletion (carried out, or discarded); False when it was not there."""
        return self.store.delete(path)


def ref_of(body: dict) -> ObjectRef:
    """The object a held deletion names."""
    return ObjectRef(str(body["bucket"]), str(body["name"]), int(body["generation"]))


class DeletionWindow:
    """The deletions taken on in the rolling hour."""

    def __init__(self, store: JsonStore, ledger_prefix: str):
        self.store, self.path = store, f"{ledger_prefix}deletion-window.json"

    @staticmethod
    def _live(doc: Doc | None, now: float) -> dict[str, int]:
        """The minutes whose count is still in the hour (the minute ended at most an hour ago)."""
        minutes = (doc.body.get("minutes") or {}) if doc else {}
        return {m: int(n) for m, n in minutes.items() if (int(m) + 1) * 60 > now - HOUR_S}

    def used(self) -> int:
        """How many deletions were taken on in the last hour."""
        return sum(self._live(self.store.read(self.path), clock.now()).values())

    def take(self, wanted: int, limit: int, ahead_s: float = 0.0) -> tuple[int, str]:
        """Count up to `wanted` deletions, as many as `limit` leaves in the hour (0: no limit), in
        the minute `ahead_s` seconds from now (the latest a DELETE of theirs may land, and a margin
        for a clock behind the next flush's); (how many were counted, that minute). Raises the
        store's errors (then none was counted, or the write's outcome is unknown: the caller takes none)."""
        taken = {}  # what the last round counted, and in which minute

        def counted(doc: Doc | None) -> dict | None:
            now = clock.now()
            minutes = self._live(doc, now)
            granted = wanted if not limit else max(0, min(wanted, limit - sum(minutes.values())))
            taken.update(n=max(granted, 0), minute=str(int((now + ahead_s) // 60)))
            if granted <= 0:
                return None
            minutes[taken["minute"]] = minutes.get(taken["minute"], 0) + granted
            return {"minutes": minutes}
        update(self.store, self.path, counted, ATTEMPTS)
        return taken["n"], taken["minute"]

    def give_back(self, n: int, minute: str) -> None:
        """Uncount `n` deletions counted in `minute` whose DELETE was never sent (their lookup
        failed, nothing of theirs was in the Hub): they are counted again when they come back.
        Raises the store's errors (then they stay counted: too early, never past the limit)."""
        def uncounted(doc: Doc | None) -> dict | None:
            minutes = self._live(doc, clock.now())
            if n <= 0 or not minutes.get(minute):
                return None
            left = minutes[minute] - min(n, minutes[minute])
            return {"minutes": {m: c for m, c in minutes.items() if m != minute} | ({minute: left} if left else {})}
        update(self.store, self.path, uncounted, ATTEMPTS)
