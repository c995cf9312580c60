"""Which Hub storage integration reads the landing bucket, when HUB_STORAGE_ID leaves it open.

With HUB_STORAGE_ID empty (and the bucket not public) the flush finds the integration itself: of
every integration GET /v2/storages lists, those whose bucket is the landing bucket. One: it is
used. None: the flush waits, pulling nothing, until someone creates it in the Hub. Two or more:
it refuses to choose. `Finding` is what was found, and says it in the words that the flush's log
line, `status`, `check` and `trace` all use (one place for them; the alert matches WAITING).
"""
from __future__ import annotations

from hub_import.core import clock
from dataclasses import dataclass

from .hub_quirks import storage_bucket

FOUND, WAITING, AMBIGUOUS = "found", "waiting", "ambiguous"
# The start of the waiting line; the log-based metric behind the alert matches it (monitoring.tf).
WAITING_PREFIX = "waiting for a Hub storage integration for bucket"


def waiting_line(bucket: str) -> str:
    return (f"{WAITING_PREFIX} {bucket}: create it in the Hub (Organization > Storages); "
            "nothing to re-apply")


def ambiguous_line(bucket: str, ids: tuple[str, ...]) -> str:
    return (f"{len(ids)} Hub storage integrations read bucket {bucket} ({', '.join(ids)}), so none is used: set "
            "hub_storage_id (HUB_STORAGE_ID) to the one to use and apply, or delete the others in the Hub "
            "(Organization > Storages)")


@dataclass(frozen=True)
class Finding:
    """The integrations whose bucket is `bucket` (their `_id`s), as seen at `at` (epoch seconds)."""

    bucket: str
    ids: tuple[str, ...]
    at: float = 0.0

    @property
    def state(self) -> str:
        return FOUND if len(self.ids) == 1 else WAITING if not self.ids else AMBIGUOUS

    @property
    def storage_id(self) -> str | None:
        return self.ids[0] if len(self.ids) == 1 else None

    def says(self) -> str:
        """One line: the integration used, or why nothing is imported and what to do."""
        if self.state == FOUND:
            return f"Hub storage integration {self.ids[0]} reads bucket {self.bucket} (found in the Hub)"
        return waiting_line(self.bucket) if self.state == WAITING else ambiguous_line(self.bucket, self.ids)

    def to_json(self) -> dict:
        return {"state": self.state, "bucket": self.bucket, "ids": list(self.ids), "at": self.at,
                "says": self.says()}

    @classmethod
    def from_json(cls, body: dict) -> "Finding":
        return cls(str(body.get("bucket", "")), tuple(str(i) for i in body.get("ids") or ()), float(body.get("at") or 0))


def find(storages: list[dict], bucket: str, at: float | None = None) -> Finding:
    """The integrations among `storages` (rows of GET /v2/storages, every page) that read `bucket`."""
    wanted = bucket.lower()
    ids = sorted({str(row["_id"]) for row in storages if row.get("_id") and storage_bucket(row) == wanted})
    return Finding(bucket, tuple(ids), clock.now() if at is None else at)
