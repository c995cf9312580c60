"""A reference to one GCS object version: what every other module passes around."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class ObjectRef:
    """One object version. `generation` tells versions of the same name apart. `metadata` is the
    object's custom metadata (x-goog-meta-*, key -> value, as GCS holds it): it travels with the
    object, so that routing and the asset's contextData can use it wherever the object goes."""

    bucket: str
    name: str
    generation: int
    size: int = 0
    content_type: str = ""
    md5_hash: str = ""
    crc32c: str = ""
    time_created: str = ""
    metadata: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"

    def to_json(self) -> dict:
        body = asdict(self)
        if not self.metadata:  # the common case: messages, manifests and the ledger stay as they were
            del body["metadata"]
        return body

    @classmethod
    def from_json(cls, body: dict) -> "ObjectRef":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in body.items() if k in known})

    @classmethod
    def from_resource(cls, resource: dict) -> "ObjectRef":
        """From a GCS JSON API object resource (an event's data, or a listing item).

        Raises KeyError or ValueError when bucket, name or generation is missing or malformed.
        """
        bucket, name = resource["bucket"], resource["name"]
        if not isinstance(bucket, str) or not bucket or not isinstance(name, str) or not name:
            raise ValueError("bucket and name must be non-empty strings")
        # The JSON API writes generation and size as decimal strings.
        return cls(bucket=bucket, name=name, generation=_whole(resource["generation"], "generation"),
                   size=_whole(resource.get("size") or 0, "size"), content_type=resource.get("contentType") or "",
                   md5_hash=resource.get("md5Hash") or "", crc32c=resource.get("crc32c") or "",
                   time_created=resource.get("timeCreated") or "",
                   metadata=resource.get("metadata") or {}).checked()

    @classmethod
    def from_blob(cls, blob) -> "ObjectRef":
        """From a google-cloud-storage Blob (a listing item, or `get_blob`)."""
        return cls(bucket=blob.bucket.name, name=blob.name, generation=int(blob.generation or 0),
                   size=int(blob.size or 0), content_type=blob.content_type or "", md5_hash=blob.md5_hash or "",
                   crc32c=blob.crc32c or "", time_created=blob.time_created.isoformat() if blob.time_created else "",
                   metadata=dict(blob.metadata or {}))

    def checked(self) -> "ObjectRef":
        """This reference, if every field is what GCS allows: bucket and name non-empty UTF-8
        within 222 and 1024 bytes, generation and size whole numbers >= 0, metadata an object of
        texts, the rest text.
        ValueError naming the field otherwise. For references built from input (events, messages)."""
        for name, limit in (("bucket", MAX_BUCKET_BYTES), ("name", MAX_NAME_BYTES)):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string, not {_shown(value)}")
            if len(_utf8(value, name)) > limit:
                raise ValueError(f"{name} is longer than {limit} bytes")
        if not BUCKET_NAME.fullmatch(self.bucket):  # the storage client refuses such a name outright
            raise ValueError(f"bucket {_shown(self.bucket)} is not a bucket name GCS allows")
        for name in ("generation", "size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, not {_shown(value)}")
        for name in ("content_type", "md5_hash", "crc32c", "time_created"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string, not {_shown(value)}")
            _utf8(value, name)
        if not isinstance(self.metadata, dict):
            raise ValueError(f"metadata must be an object of texts, not {_shown(self.metadata)}")
        for key, value in self.metadata.items():
            if not isinstance(key, str) or not key or not isinstance(value, str):
                raise ValueError(f"metadata must map non-empty keys to texts, not {_shown(key)}: {_shown(value)}")
            _utf8(key, "a metadata key"), _utf8(value, f"metadata {key!r}")
        return self


MAX_BUCKET_BYTES, MAX_NAME_BYTES = 222, 1024
# GCS's naming rules: lower-case letters, digits, '-', '_' and '.', beginning and ending with a
# letter or digit, 3 to 63 characters (dotted names up to 222, each part at most 63).
BUCKET_NAME = re.compile(r"(?=.{3,222}\Z)(?!.*[^.]{64})[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?")


def _whole(value, what: str) -> int:
    """A whole number from an int or a decimal string (not a bool, a float or anything else)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{what} must be a whole number, not {_shown(value)}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{what} must be a whole number, not {_shown(value)}") from None


def _utf8(value: str, what: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode text (a lone surrogate)") from None


def _shown(value, limit: int = 60) -> str:
    """A short, printable picture of a bad value, for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def live_object(ref: ObjectRef, client=None) -> ObjectRef | None:
    """The version of `ref`'s name live in its bucket now, or None when there is none. Raises
    the storage client's error when GCS cannot say (the caller retries)."""
    from hub_import.core.clients import GCS_RETRY, storage_client

    blob = (client or storage_client()).bucket(ref.bucket).get_blob(ref.name, retry=GCS_RETRY)
    return ObjectRef.from_blob(blob) if blob is not None else None


def live_generation(ref: ObjectRef, client=None) -> int | None:
    """The generation of `ref`'s name live in its bucket now, or None (as `live_object`)."""
    live = live_object(ref, client)
    return live.generation if live is not None else None
