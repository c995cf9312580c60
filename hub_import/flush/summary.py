"""What one flush did: its summary, the HTTP answer to the scheduler and the flush's last log line.
Its JSON (`to_json`) is documented, field by field, in docs/json/flush.md: counts are integers, times
ISO 8601 UTC or null; the message fields (`hub_unavailable`, ...) are "" when there is nothing to say
(the log-based metrics filter on `hub_unavailable!=""`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Summary:
    """What one flush did, as its HTTP answer and its last log line."""

    flush_id: str
    pulled: int = 0
    sent: int = 0
    found_in_hub: int = 0
    duplicates: int = 0
    skipped_by_rule: int = 0
    deferred: int = 0
    failed: int = 0
    dead_lettered: int = 0
    resumed_manifests: int = 0
    duplicates_removed: int = 0
    results_published: int = 0
    deletions: int = 0  # objects deleted from the bucket done with (ON_DELETE=delete), whatever became of them
    deleted_assets: int = 0  # assets soft-deleted in the Hub because their object left the bucket
    deletions_held: int = 0  # deletions held past MAX_DELETIONS_PER_HOUR (`deletions --approve` carries them out)
    deleted_before_import: int = 0  # imports dropped: their object had left the bucket first
    assets_left_unproven: int = 0  # listed under a deleted object's externalId, not proven ours (no data URL): kept
    uncertain: int = 0
    reconciled_manifests: int = 0
    reconcile_calls: int = 0
    batch_calls: int = 0  # Hub calls spent resolving batch names to ids (reading projects, creating batches)
    manifests: list[str] = field(default_factory=list)
    hub_calls: int = 0
    seconds: float = 0.0
    queue_empty: bool = False
    budget_exhausted: bool = False
    hub_unavailable: str = ""
    storage_waiting: str = ""  # why nothing was pulled: no (or no single) Hub storage integration for the bucket
    lease_held_by: str = ""
    lease_held_until: str | None = None  # ISO 8601 UTC (core/clock.py iso): when the lease of the flush that held it runs out
    oldest_deferred_published: str | None = None  # ISO 8601 UTC: when the oldest message this flush handed back was published
    error: str = ""  # the flush failed (it raised this): for its health record

    def to_json(self) -> dict:
        return asdict(self)

