"""What the ledger's name index (state/name_index.py) costs in GCS operations, in memory (no stack):
`python -m tests.bench.name_index_cost [N]`. Class A: writes, creates, deletes, lists; class B: reads
(as bench.py's CountingStore counts them), split into the index's operations and all the others.

- imports: N files through a whole flush (`Flush.run` over the in-memory fakes of
  tests/unit/flush/test_flush_in_memory.py), under ON_OVERWRITE=import and under skip;
- deletions, through the ledger calls the deleter makes: a file deleted before its import (the
  tombstone, `mark_deleted` over no record), and one deleted after it (the intent, then the deletion,
  `mark_deleted` twice over its record), each by a flush other than the one that claimed it."""
from __future__ import annotations

import json
import logging
import sys
from collections import Counter

from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import load
from hub_import.flush.run import Flush
from hub_import.state.ledger import DELETING, Ledger
from tests.unit.flush.test_flush_in_memory import DEST, ENV, Hub, ListingStore, Subscriber
from tests.unit.flush.test_result_messages import Publisher


class PathCountingStore:
    """A store that counts class A and B operations, those of the name index apart."""

    def __init__(self, store):
        self.store, self.ops = store, Counter()

    def _count(self, kind: str, path: str) -> None:
        self.ops[("index" if "/names/" in str(path) else "other", kind)] += 1

    def create(self, path, *a, **k):
        self._count("A", path)
        return self.store.create(path, *a, **k)

    def write(self, path, *a, **k):
        self._count("A", path)
        return self.store.write(path, *a, **k)

    def read(self, path, *a, **k):
        self._count("B", path)
        return self.store.read(path, *a, **k)

    def delete(self, path, *a, **k):
        self._count("A", path)
        return self.store.delete(path, *a, **k)

    def list(self, prefix, *a, **k):
        self._count("A", prefix)
        return self.store.list(prefix, *a, **k)

    def per_file(self, n: int) -> dict:
        return {f"{who} {kind}": round(self.ops[(who, kind)] / n, 3) for who in ("index", "other") for kind in "AB"}


def imports(n: int, on_overwrite: str) -> dict:
    store = PathCountingStore(ListingStore())
    batch = [(f"m{i}", ObjectMessage(ObjectRef("landing", f"cams/{i}.jpg", 1000 + i, size=10), DEST, (10, 10)).encode())
             for i in range(n)]
    env = {**ENV, "ON_OVERWRITE": on_overwrite, "EXTERNAL_ID_TEMPLATE": "{name}#{generation}",
           "MAX_ASSETS_PER_MANIFEST": "500"}
    summary = Flush(load(env), Hub(), store, Subscriber(*[batch[i:i + 100] for i in range(0, n, 100)]),
                    Publisher()).run()
    assert summary.sent == n, summary
    return store.per_file(n)


def deletions(n: int, each_generation: bool, imported: bool) -> dict:
    inner = ListingStore()
    refs = [ObjectRef("landing", f"cams/{i}.jpg", 1000 + i) for i in range(n)]
    if imported:
        claimer = Ledger(inner, "ledger/", each_generation)
        for r in refs:
            claimer.claim(r, "m", "f1", r.name)
    store = PathCountingStore(inner)
    ledger = Ledger(store, "ledger/", each_generation)  # the deleting flush's
    for r in refs:
        doc = ledger.read(r)
        if imported:  # the intent before the DELETE, then the deletion
            g = ledger.mark_deleted(r, doc.generation, doc.body, "f2", asset_ids=["a"], state=DELETING)
            ledger.mark_deleted(r, g, doc.body, "f2", asset_ids=["a"])
        else:  # the tombstone
            ledger.mark_deleted(r, 0, {}, "f2", note="never in the Hub")
    return store.per_file(n)


def main(n: int) -> dict:
    logging.getLogger("hub_import").setLevel(logging.ERROR)
    return {
        "import, ON_OVERWRITE=import": imports(n, "import"),
        "import, ON_OVERWRITE=skip": imports(n, "skip"),
        "deleted before import, per generation": deletions(n, True, False),
        "deleted before import, per name": deletions(n, False, False),
        "deleted after import, per generation": deletions(n, True, True),
        "deleted after import, per name": deletions(n, False, True),
    }


if __name__ == "__main__":
    for case, ops in main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000).items():
        print(f"{case:<40} {json.dumps(ops)}")
