"""Small JSON documents in the state bucket, read and written with generation preconditions.

`if_generation_match=0` is an atomic create-if-absent; `if_generation_match=G` an atomic
compare-and-swap. These two operations are what the ledger and the manifests rest on.

Every write here is safe to retry. google-cloud-storage 3.x retries uploads and deletes on
429, 5xx, resets and timeouts (DEFAULT_RETRY, for conditional and unconditional ones alike: a
write with a generation precondition is idempotent by design). So when a conditional write is
applied and its answer is lost (a 503 or a reset after GCS stored it), the client's own retry
meets the write's result and fails its precondition with 412. Taken at its word, that 412
says "somebody else got there first", and the ledger would defer (and later ack as a
duplicate) an object whose claim is really its own: a file that never reaches the Hub. So a
412 is checked: the document is read back, and when its bytes are exactly the bytes we tried
to write, the write was ours and its generation is returned as success. Exact bytes suffice
because every conditional document here names the flush that wrote it and the time (ledger
records, manifest states), so no other writer produces the same bytes. A guarded delete whose
retry meets 404 (or 412 on a document that is gone) was likewise our own delete.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from google.api_core import exceptions

from hub_import.core.clients import GCS_RETRY as RETRY

logger = logging.getLogger(__name__)



class ConflictError(Exception):
    """A precondition failed: somebody else created or changed the document first."""


@dataclass(frozen=True)
class Doc:
    body: object
    generation: int


def update(store, path: str, change, attempts: int) -> object | None:
    """Read-modify-write `path` under a generation precondition: `change(doc)` (doc: Doc or None) gives
    the body to write, or None to write nothing; read again and retried when another writer got
    there first, up to `attempts` rounds (then ConflictError). The body written, or None."""
    for _ in range(attempts):
        doc = store.read(path)
        body = change(doc)
        if body is None:
            return None
        try:
            store.write(path, body, if_generation_match=doc.generation if doc else 0)
            return body
        except ConflictError:
            continue
    raise ConflictError(path)


class JsonStore:
    """JSON documents in one bucket."""

    def __init__(self, bucket):
        self.bucket = bucket

    def create(self, path: str, body: object) -> int:
        """Create `path` if it does not exist; its generation, or ConflictError."""
        return self.write(path, body, if_generation_match=0)

    def write(self, path: str, body: object, if_generation_match: int | None = None) -> int:
        """Write `body` as JSON (only over generation `if_generation_match`, when given; 0: only
        if absent); its new generation, or ConflictError when another writer's document is there."""
        data = json.dumps(body, ensure_ascii=False, indent=None, separators=(",", ":")).encode()
        blob = self.bucket.blob(path)
        try:
            blob.upload_from_string(data, content_type="application/json", if_generation_match=if_generation_match,
                                    retry=RETRY)
        except exceptions.PreconditionFailed:
            generation = self._own_write(path, data)
            if generation is None:
                raise ConflictError(path) from None
            logger.debug("a retried write met its own earlier attempt: %s", path)
            return generation
        return int(blob.generation)

    def _own_write(self, path: str, data: bytes) -> int | None:
        """The generation of `path` if it holds exactly `data` (our own write, answer lost), else None."""
        blob = self.bucket.blob(path)
        try:
            stored = blob.download_as_bytes(retry=RETRY)
        except exceptions.NotFound:
            return None
        return int(blob.generation) if stored == data else None

    def read(self, path: str) -> Doc | None:
        blob = self.bucket.blob(path)
        try:
            data = blob.download_as_bytes(retry=RETRY)
        except exceptions.NotFound:
            return None
        return Doc(json.loads(data), int(blob.generation))

    def delete(self, path: str, if_generation_match: int | None = None) -> bool:
        """Delete `path` (only at generation `if_generation_match`, when given). False when it is
        not there (already deleted, maybe by our own attempt whose answer was lost); ConflictError
        when it is there at another generation."""
        try:
            self.bucket.blob(path).delete(if_generation_match=if_generation_match, retry=RETRY)
            return True
        except exceptions.NotFound:
            return False
        except exceptions.PreconditionFailed:
            if self.read(path) is None:
                return False
            raise ConflictError(path) from None

    def list(self, prefix: str, page_size: int = 1000):
        """Names under `prefix`, streamed page by page."""
        for blob in self.bucket.list_blobs(prefix=prefix, page_size=page_size, retry=RETRY):
            yield blob.name
