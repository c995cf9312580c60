"""What one flush carries and reports: its summary, the items it holds, how it builds an asset and
guards batch creation, the claim timeout, and the crash points the tests kill it at."""
from __future__ import annotations

import logging
import os
import signal
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field

from .assets import Asset, build_asset
from .batch_budget import BatchBudget
from .config import Settings
from .logs import log
from .metadata import context_data
from .objects import ObjectRef
from .queue import ObjectMessage
from .routes import Destination

logger = logging.getLogger("hub_import.flush")


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
    results_published: int = 0
    deletions: int = 0  # objects deleted from the bucket done with (ON_DELETE=delete), whatever became of them
    deleted_assets: int = 0  # assets soft-deleted in the Hub because their object left the bucket
    deleted_before_import: int = 0  # imports dropped: their object had left the bucket first
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
    claimed_for: int = 0  # the object generation the claim was made for (a newer one may fold in since)
    claimed_at: float = 0.0


def _crash_point(step: str) -> None:
    """Fault injection for the crash tests: FLUSH_CRASH_AT=<step> kills this process there."""
    if os.environ.get("FLUSH_CRASH_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)


def asset_for(settings: Settings, ref: ObjectRef, dest: Destination, batch_ids: tuple[str, ...] = (),
              size: tuple[int, int] | None = None, **log_fields) -> Asset:
    """The asset for `ref` bound for `dest` (its batches as `batch_ids`), its contextData made from
    its custom metadata as HUB_CONTEXT_KEYS says; each value left out is logged with the reason
    (and `log_fields`, such as the flush id). The flush does this, not ingest, so that the message
    carries the metadata as it is and one place decides what the Hub sees."""
    context, left_out = context_data(ref.metadata, settings.context_keys, settings.context_max_value_bytes) \
        if settings.context_keys and ref.metadata else ({}, [])
    for key, reason in left_out:
        log(logger, logging.WARNING, f"metadata {key!r} left out of contextData: {reason}", object=ref.uri,
            generation=ref.generation, key=key, reason=reason, **log_fields)
    return build_asset(ref, storage=dest.storage, batches=batch_ids, size=size, url_template=settings.url_template,
                       external_id_template=settings.external_id_template, context_data=context)


def batch_guard(budget: BatchBudget, dest: Destination):
    """For HubClient.batch_ids: counts each batch a template of `dest` is about to create against
    the cap (TemplateCapError past it); None when `dest` has no templated names."""
    made = dict(dest.templates)
    if not made:
        return None

    def before_create(name: str) -> None:
        if name in made:
            budget.admit(dest.project, made[name], name)
    return before_create
