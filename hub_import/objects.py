"""A reference to one GCS object version: what every other module passes around."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class ObjectRef:
    """One object version. `generation` tells versions of the same name apart."""

    bucket: str
    name: str
    generation: int
    size: int = 0
    content_type: str = ""
    md5_hash: str = ""
    crc32c: str = ""
    time_created: str = ""

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"

    def to_json(self) -> dict:
        return asdict(self)

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
        return cls(bucket=bucket, name=name, generation=int(resource["generation"]),
                   size=int(resource.get("size") or 0), content_type=resource.get("contentType") or "",
                   md5_hash=resource.get("md5Hash") or "", crc32c=resource.get("crc32c") or "",
                   time_created=resource.get("timeCreated") or "")
