"""One sender at a time: a lease in the state bucket.

The Hub's rate limit is per API key, so two flushes sending at once (a scheduled one and a
manual `flush` or `replay`, or two instances) would each pace at the whole limit. A flush takes
the lease before it sends and gives it back when done; a holder that died loses it when it
expires. Taking it is one create-if-absent, or one compare-and-swap over an expired lease.
"""
from __future__ import annotations

from hub_import.core import clock
from dataclasses import dataclass

from .store import ConflictError, JsonStore


@dataclass
class Lease:
    store: JsonStore
    path: str
    owner: str
    generation: int = 0
    until: float = 0.0  # wall time the lease held ends (0: not held)

    def acquire(self, ttl_s: float) -> dict | None:
        """Take the lease for `ttl_s`; None when taken, else the holder's record (who, until when)."""
        record = {"owner": self.owner, "until": clock.now() + ttl_s, "at": clock.now()}
        try:
            self.generation = self.store.create(self.path, record)
            self.until = record["until"]
            return None
        except ConflictError:
            pass
        current = self.store.read(self.path)
        if current is None:
            return self.acquire(ttl_s)
        if float(current.body.get("until", 0)) > clock.now() and current.body.get("owner") != self.owner:
            return current.body
        try:
            self.generation = self.store.write(self.path, record, if_generation_match=current.generation)
            self.until = record["until"]
            return None
        except ConflictError:
            latest = self.store.read(self.path)
            return latest.body if latest else {"owner": "?", "until": 0}

    def release(self) -> None:
        if not self.generation:
            return
        try:
            self.store.delete(self.path, if_generation_match=self.generation)
        except ConflictError:
            pass  # expired and taken by another: not ours to delete
        self.generation, self.until = 0, 0.0
