"""What one flush carries and reports: its summary, the items it holds, the claim timeout, and
the crash points the tests kill it at."""
from __future__ import annotations

import os
import signal
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field

from .assets import Asset
from .config import Settings
from .queue import ObjectMessage


def claim_timeout_s(settings: Settings) -> float:
    """How old a claim (or a lease) must be before its flush is surely dead and done with the Hub:
    longer than any flush lives (it starts no Hub call after its budget, and waits at most
    HUB_TIMEOUT_SECONDS for one; Terraform gives the function a timeout of budget + 60 s)."""
    return 2 * settings.flush_budget_s + 10 + settings.hub_timeout_s


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
    uncertain: int = 0
    reconciled_manifests: int = 0
    reconcile_calls: int = 0
    manifests: list[str] = field(default_factory=list)
    hub_calls: int = 0
    seconds: float = 0.0
    queue_empty: bool = False
    budget_exhausted: bool = False
    hub_unavailable: str = ""
    lease_held_by: str = ""

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Item:
    """One object held by this flush, with every message that asked for it, and its ledger claim
    (started as soon as it was admitted, for the manifest its group will become)."""

    message: ObjectMessage
    ack_ids: list[str]
    asset: Asset | None = None
    record_generation: int = 0
    claim: Future | None = None
    claimed_at: float = 0.0


def _crash_point(step: str) -> None:
    """Fault injection for the crash tests: FLUSH_CRASH_AT=<step> kills this process there."""
    if os.environ.get("FLUSH_CRASH_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)
