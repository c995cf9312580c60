"""A reference to one GCS object version: what every other module passes around."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectRef:
    """One object version. `generation` tells versions of the same name apart."""

    bucket: str
    name: str
    generation: int
    size: int = 0
    content_type: str = ""

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"
