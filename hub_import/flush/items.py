"""What the flush holds: one object admitted from the queue (an `Item`) with its claim, and how
long such a claim, or a lease, holds before its flush is surely gone."""
from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

from hub_import.core.assets import Asset
from hub_import.core.messages import ObjectMessage
from hub_import.core.settings import Settings


def claim_timeout_s(settings: Settings) -> float:
    """How old a claim (or a lease) must be before its flush is surely dead and done with the Hub:
    longer than any flush lives (it starts no Hub call after its budget, and waits at most
    HUB_TIMEOUT_SECONDS for one; Terraform gives the function a timeout of budget + 60 s)."""
    return 2 * settings.flush_budget_s + 10 + settings.hub_timeout_s


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
