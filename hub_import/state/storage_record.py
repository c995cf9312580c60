"""What the flush last found of the landing bucket's Hub storage integration, kept in the state
bucket (`LEDGER_PREFIX/storage.json`) so that `status` and `trace` can say why nothing is imported
without asking the Hub. Written only when it changes (its state or the ids), so a flush that keeps
waiting reads it and writes nothing; `since` is when the current state began."""
from __future__ import annotations

from hub_import.core import clock

from hub_import.core.bucket_storage import Finding

from .store import ConflictError, JsonStore


class StorageRecord:
    def __init__(self, store: JsonStore, ledger_prefix: str):
        self.store, self.path = store, f"{ledger_prefix}storage.json"

    def read(self) -> tuple[Finding, float] | None:
        """(the last finding, since when it holds), or None when no flush has looked yet."""
        doc = self.store.read(self.path)
        if doc is None or not isinstance(doc.body, dict):
            return None
        return Finding.from_json(doc.body), float(doc.body.get("since") or doc.body.get("at") or 0)

    def keep(self, finding: Finding) -> None:
        """Record `finding` unless the record says the same already. Best effort: a lost race with
        another writer leaves that writer's (equally fresh) record."""
        doc = self.store.read(self.path)
        if doc is not None and isinstance(doc.body, dict):
            old = Finding.from_json(doc.body)
            if (old.bucket, old.ids) == (finding.bucket, finding.ids):
                return
        try:
            self.store.write(self.path, {**finding.to_json(), "since": clock.now()},
                             if_generation_match=doc.generation if doc else 0)
        except ConflictError:
            pass
