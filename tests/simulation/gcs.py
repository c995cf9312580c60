"""An in-memory Cloud Storage: buckets of objects with generations, the generation
preconditions the state store rests on (`if_generation_match`, 0 = create-if-absent), ranged
reads of one generation, listing, and the faults a real client meets after its own retries:

- `gcs.write` (mostly): the write (or delete) is applied and its answer lost; the client's retry
  then meets its own result (412 for a conditional write, 404 for a delete), as
  google-cloud-storage's DEFAULT_RETRY does; (sometimes) the write fails with 503 after the
  retries, applied or not;
- `gcs.read`: a read fails with 503 after the retries.

The landing bucket tells `notify(kind, resource)` of each finalize and delete, as GCS tells
Eventarc; the simulation decides when (and whether) the event is delivered."""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone
from typing import Callable

from google.api_core import exceptions

from .clock import Io


class _Version:
    def __init__(self, data: bytes, generation: int, created: float, content_type: str, metadata: dict):
        self.data, self.generation, self.created = data, generation, created
        self.landed = created  # when it became listable (`created` is its timeCreated)
        self.content_type, self.metadata = content_type, dict(metadata)


class FakeBlob:
    """The parts of google.cloud.storage.Blob the product uses."""

    def __init__(self, bucket: "FakeBucket", name: str, generation: int | None = None):
        self.bucket, self.name, self._pinned = bucket, name, generation
        self.generation: int | None = generation
        self.size = self.content_type = self.time_created = self.updated = None
        self.md5_hash = self.crc32c = None
        self.metadata: dict | None = None

    def _fill(self, v: _Version) -> "FakeBlob":
        self.generation, self.size, self.content_type = v.generation, len(v.data), v.content_type
        self.time_created = self.updated = datetime.fromtimestamp(v.created, timezone.utc)
        self.md5_hash = base64.b64encode(hashlib.md5(v.data).digest()).decode()
        self.crc32c, self.metadata = "AAAAAA==", dict(v.metadata)
        return self

    def upload_from_string(self, data, content_type="application/octet-stream", if_generation_match=None,
                           retry=None, **_):
        data = data.encode() if isinstance(data, str) else bytes(data)
        b = self.bucket
        fault = b.io.choice(("lost", "lost", "lost", "error", "error applied")) if b.io.call("gcs.write") else ""
        b.check(self.name, if_generation_match)
        if fault == "error":
            raise exceptions.ServiceUnavailable("simulated: GCS unavailable (not applied)")
        v = b.put(self.name, data, content_type, self.metadata or {})
        if fault == "error applied":
            raise exceptions.ServiceUnavailable("simulated: GCS unavailable (applied, answer lost)")
        if fault == "lost" and if_generation_match is not None:
            raise exceptions.PreconditionFailed("simulated: the retry met its own write")
        self._fill(v)

    def download_as_bytes(self, retry=None, start=None, end=None, checksum=None, raw_download=False, **_):
        b = self.bucket
        if b.io.call("gcs.read"):
            raise exceptions.ServiceUnavailable("simulated: GCS unavailable (read)")
        v = b.objects.get(self.name)
        if v is None or (self._pinned is not None and v.generation != self._pinned):
            raise exceptions.NotFound(f"simulated: no such object {self.name}")
        self._fill(v)
        data = v.data
        if start is not None:
            if start >= len(data) and len(data):
                raise exceptions.RequestRangeNotSatisfiable("simulated: range")
            data = data[start:(end + 1) if end is not None else None]
        return data

    def delete(self, if_generation_match=None, retry=None, **_):
        b = self.bucket
        lost = b.io.call("gcs.write")
        v = b.objects.get(self.name)
        if v is None:
            raise exceptions.NotFound(f"simulated: no such object {self.name}")
        if if_generation_match is not None and v.generation != if_generation_match:
            raise exceptions.PreconditionFailed("simulated: generation mismatch")
        b.remove(self.name)
        if lost:
            raise exceptions.NotFound("simulated: the retry met its own delete")


class FakeBucket:
    def __init__(self, client: "FakeGcs", name: str):
        self.client, self.name, self.io = client, name, client.io
        self.objects: dict[str, _Version] = {}
        self.notify: Callable[[str, dict], None] | None = None

    def blob(self, name: str, generation: int | None = None) -> FakeBlob:
        return FakeBlob(self, name, generation)

    def get_blob(self, name: str, retry=None, **_) -> FakeBlob | None:
        if self.io.call("gcs.read"):
            raise exceptions.ServiceUnavailable("simulated: GCS unavailable (read)")
        v = self.objects.get(name)
        return FakeBlob(self, name)._fill(v) if v else None

    def list_blobs(self, prefix=None, start_offset=None, page_size=1000, retry=None, fields=None, **_):
        """google-cloud-storage's listing: by name, under `prefix`, from `start_offset` (inclusive);
        iterate it for the objects, or its `pages`. Each page is one call (`gcs.list`: a 503 after the
        retries), read from the bucket as it is when the page is asked for (an object landing behind
        the last page served is not seen, one ahead of it is)."""
        return _Listing(self, prefix or "", start_offset or "", max(1, int(page_size or 1000)))

    def check(self, name: str, if_generation_match) -> None:
        v = self.objects.get(name)
        if if_generation_match is not None and (v.generation if v else 0) != if_generation_match:
            raise exceptions.PreconditionFailed(f"simulated: precondition failed on {name}")

    def put(self, name: str, data: bytes, content_type: str, metadata: dict, backdate: float = 0.0) -> _Version:
        """`backdate`: its timeCreated that many seconds before it becomes listable (a resumable upload
        finished late, a copy)."""
        old = self.objects.get(name)
        v = _Version(data, self.client.next_generation(), self.io.clock.time() - backdate, content_type, metadata)
        v.landed = self.io.clock.time()
        self.objects[name] = v
        if self.notify:
            if old is not None:
                self.notify("deleted", self.resource(name, old))
            self.notify("finalized", self.resource(name, v))
        return v

    def remove(self, name: str) -> None:
        old = self.objects.pop(name)
        if self.notify:
            self.notify("deleted", self.resource(name, old))

    def resource(self, name: str, v: _Version) -> dict:
        """The object resource GCS puts in an event (sizes and generations as decimal strings)."""
        created = datetime.fromtimestamp(v.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {"kind": "storage#object", "bucket": self.name, "name": name, "generation": str(v.generation),
                "size": str(len(v.data)), "contentType": v.content_type, "timeCreated": created,
                "updated": created, "metadata": dict(v.metadata),
                "md5Hash": base64.b64encode(hashlib.md5(v.data).digest()).decode()}


class _Listing:
    def __init__(self, bucket: "FakeBucket", prefix: str, start: str, page_size: int):
        self.bucket, self.prefix, self.start, self.page_size = bucket, prefix, start, page_size

    @property
    def pages(self):
        b, after = self.bucket, None
        while True:
            if b.io.call("gcs.list"):
                raise exceptions.ServiceUnavailable("simulated: GCS unavailable (list)")
            names = sorted(n for n in b.objects if n.startswith(self.prefix) and n >= self.start
                           and (after is None or n > after))[:self.page_size]
            page = [FakeBlob(b, n)._fill(b.objects[n]) for n in names]
            yield page
            if len(names) < self.page_size:
                return
            after = names[-1]

    def __iter__(self):
        for page in self.pages:
            yield from page


class FakeGcs:
    """google.cloud.storage.Client's `bucket(name)`; generations grow with (virtual) time."""

    def __init__(self, io: Io):
        self.io = io
        self.buckets: dict[str, FakeBucket] = {}
        self._generation = 1_790_000_000_000_000

    def bucket(self, name: str) -> FakeBucket:
        if name not in self.buckets:
            self.buckets[name] = FakeBucket(self, name)
        return self.buckets[name]

    def next_generation(self) -> int:
        self._generation = max(self._generation + 1, int(self.io.clock.time() * 1_000_000))
        return self._generation


def content(name: str, size: int) -> bytes:
    """A file of `size` bytes; a PNG's header for .png names (the probe reads width and height)."""
    if name.endswith(".png"):
        import struct
        import zlib

        w, h = 10 + len(name), 20
        ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
        head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + \
            struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
        return (head + b"\0" * max(0, size - len(head)))[:max(size, len(head))]
    return (b"%PDF-1.4 " + b"x" * size)[:size]
