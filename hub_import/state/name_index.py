"""The generations the ledger recorded of one name, for `trace` (ON_OVERWRITE=import only).

When each generation is imported, the ledger keys its records by bucket/name#generation. A file
that left the bucket before any manifest carried it has its deletion recorded under its
generation's key, and once the object is gone nothing tells `trace gs://BUCKET/NAME` which
generation to look under. So the ledger also keeps, per name, one small document

    LEDGER_PREFIX/names/<sha256(bucket/name)[:2]>/<sha256(bucket/name)>.json
    {"object": "gs://bucket/name", "generations": [g1, g2, ...]}     (ascending: newest last)

listing the last KEEP generations it claimed or recorded deleted. It is written read-modify-write
under a generation precondition (a conflict is read again and retried), and it is written BEFORE
the record it lists: a record is written only once its generation is listed, so that trace finds
every record whatever fails in between (a crash, a failed write). A failure to list raises, as a
failed record write does, and the record is not written. So the index may be ahead of the truth,
never behind: a generation listed without a record (a write that failed after it, or a claim
given back) is one trace reads as no record. The records' layout is unchanged.
"""
from __future__ import annotations

import hashlib
import threading
from collections import defaultdict

from google.api_core import exceptions

from .store import ConflictError, JsonStore, update

KEEP = 20  # generations per name; older ones drop off (trace then finds them only through manifests)
ATTEMPTS = 8  # read-modify-write attempts when another writer changed the document in between


class NameIndex:
    def __init__(self, store: JsonStore, ledger_prefix: str):
        self.store, self.prefix = store, f"{ledger_prefix}names/"
        self._known: set[tuple[str, int]] = set()  # (path, generation) this process knows listed
        # One writer per name in this process: the flush claims on 32 threads, and many generations of
        # one name claimed at once would otherwise lose the document's precondition to each other
        # round after round (and fail their claims, and their group). A thread that gets the name's
        # lock lists every generation waiting for it in one write.
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._waiting: dict[str, set[int]] = defaultdict(set)

    def path(self, bucket: str, name: str) -> str:
        key = hashlib.sha256(f"{bucket}/{name}".encode()).hexdigest()
        return f"{self.prefix}{key[:2]}/{key}.json"

    def generations(self, bucket: str, name: str) -> list[int]:
        """The generations recorded of `bucket/name`, oldest first (none when there is no index)."""
        doc = self.store.read(self.path(bucket, name))
        return [int(g) for g in (doc.body.get("generations") or [])] if doc else []

    def add(self, bucket: str, name: str, generation: int) -> None:
        """List `generation` for the name, before its record is written. Raises the store's error
        (and exceptions.Aborted after ATTEMPTS conflicts): then the caller writes no record."""
        path = self.path(bucket, name)
        with self._guard:
            if (path, generation) in self._known:
                return
            self._waiting[path].add(generation)
            lock = self._locks[path]
        with lock:
            with self._guard:
                if (path, generation) in self._known:
                    return  # listed by another thread's write meanwhile
                batch = set(self._waiting[path])
            def listed(doc) -> dict | None:
                seen = [int(g) for g in (doc.body.get("generations") or [])] if doc else []
                if batch <= set(seen):
                    return None
                return {"object": f"gs://{bucket}/{name}", "generations": sorted({*seen, *batch})[-KEEP:]}
            try:
                update(self.store, path, listed, ATTEMPTS)
            except ConflictError:
                raise exceptions.Aborted(f"the name index of gs://{bucket}/{name} changed under us {ATTEMPTS} times; "
                                         f"generation {generation} is not listed, so its record is not written") from None
            with self._guard:
                self._waiting[path] -= batch
                self._known.update((path, g) for g in batch)
