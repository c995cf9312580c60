"""Small JSON documents in the state bucket, read and written with generation preconditions.

`if_generation_match=0` is an atomic create-if-absent; `if_generation_match=G` an atomic
compare-and-swap. These two operations are what the ledger and the manifests rest on.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from google.api_core import exceptions


class ConflictError(Exception):
    """A precondition failed: somebody else created or changed the document first."""


@dataclass(frozen=True)
class Doc:
    body: object
    generation: int


class JsonStore:
    """JSON documents in one bucket."""

    def __init__(self, bucket):
        self.bucket = bucket

    def create(self, path: str, body: object) -> int:
        """Create `path` if it does not exist; its generation, or ConflictError."""
        return self.write(path, body, if_generation_match=0)

    def write(self, path: str, body: object, if_generation_match: int | None = None) -> int:
        blob = self.bucket.blob(path)
        try:
            blob.upload_from_string(json.dumps(body, ensure_ascii=False, indent=None, separators=(",", ":")),
                                    content_type="application/json", if_generation_match=if_generation_match)
        except exceptions.PreconditionFailed:
            raise ConflictError(path) from None
        return int(blob.generation)

    def write_text(self, path: str, text: str) -> int:
        blob = self.bucket.blob(path)
        blob.upload_from_string(text, content_type="application/json")
        return int(blob.generation)

    def read(self, path: str) -> Doc | None:
        blob = self.bucket.blob(path)
        try:
            data = blob.download_as_bytes()
        except exceptions.NotFound:
            return None
        return Doc(json.loads(data), int(blob.generation))

    def delete(self, path: str, if_generation_match: int | None = None) -> bool:
        try:
            self.bucket.blob(path).delete(if_generation_match=if_generation_match)
            return True
        except exceptions.NotFound:
            return False
        except exceptions.PreconditionFailed:
            raise ConflictError(path) from None

    def list(self, prefix: str, page_size: int = 1000):
        """Names under `prefix`, streamed page by page."""
        for blob in self.bucket.list_blobs(prefix=prefix, page_size=page_size):
            yield blob.name
