"""What the flush holds: one object admitted from the queue (an `Item`), with its claim."""
from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

from hub_import.core.assets import Asset
from hub_import.core.messages import ObjectMessage


@dataclass
class Item:
    """One object held by this flush, with every message that asked for it, and its ledger claim
    (started as soon as it was admitted, for the manifest its group will become)."""

    message: ObjectMessage
    ack_ids: list[str]
    asset: Asset | None = None
    record_generation: int = 0
    claim: Future | None = None
    claimed_for: int = 0  # the object generation the claim was made for (a newer one may fold in since)
    claimed_at: float = 0.0
