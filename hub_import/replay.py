"""Replay: send failed or stuck manifests again, through the ledger and the Hub's own listing.

A failed manifest's assets are rebuilt from its objects with today's settings (so a fixed
template or storage id takes effect), moved to a new pending manifest, and sent like any other:
the Hub is asked first which of them it already holds, so nothing goes in twice. A stuck
pending manifest (its flush died, or the Hub was down until the deadline) is finished now
instead of at the next scheduled flush.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from .assets import build_asset
from .flush import Flush
from .hub import HubError
from .ledger import CLAIMED
from .logs import log
from .manifests import FAILED, PENDING, settle_window

logger = logging.getLogger(__name__)


@dataclass
class ReplayReport:
    manifests: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"manifests": self.manifests}


def manifest_paths(flush: Flush, *, failed: bool, since: datetime | None) -> list[str]:
    """Failed manifests (not yet replayed) or, without --failed, stuck pending ones; oldest first."""
    if not failed:
        return list(flush.manifests.pending_paths())
    start = flush.settings.manifest_prefix + (since.strftime("%Y/%m/%d") if since else "")
    paths = []
    for name in flush.manifests.store.list(flush.settings.manifest_prefix):
        if name.endswith("-failed.state.json") and name >= start:
            state = flush.manifests.state_of(name.removesuffix(".state.json") + ".json")
            if state and state.get("state") == FAILED and not state.get("replayed_as"):
                paths.append(name.removesuffix(".state.json") + ".json")
    return paths


def replay(flush: Flush, paths: list[str], dry_run: bool = False) -> ReplayReport:
    """Send each manifest in `paths` again; returns what happened to each."""
    flush.deadline = time.monotonic() + flush.settings.flush_budget_s
    flush.pull_until = flush.deadline
    flush.reconcile_budget = 10 ** 6  # asked for by a person: settle what it takes, within the budget
    report = ReplayReport()
    if not dry_run:
        try:
            flush.hub.ping(deadline=time.monotonic() + 30)  # and learn the Hub's clock
        except HubError as exc:
            report.manifests.append({"manifest": "*", "outcome": f"the Hub does not answer: {exc}"})
            return report
    holder = None if dry_run else flush.lease.acquire(flush.lease_s)
    if holder is not None:
        report.manifests.append({"manifest": "*", "outcome": f"a flush is sending ({holder.get('owner')}); "
                                 f"try again after {datetime.fromtimestamp(float(holder.get('until', 0))).isoformat()}"})
        return report
    try:
        _replay(flush, paths, dry_run, report)
    finally:
        flush.lease.release()
    return report


def _replay(flush: Flush, paths: list[str], dry_run: bool, report: ReplayReport) -> None:
    for path in paths:
        manifest = flush.manifests.load(path)
        if manifest is None:
            report.manifests.append({"manifest": path, "outcome": "not found"})
            continue
        state = manifest.state.get("state")
        before = flush.summary.sent, flush.summary.found_in_hub, flush.summary.failed
        if dry_run:
            report.manifests.append({"manifest": path, "state": state, "assets": len(manifest.assets),
                                     "outcome": "would replay"})
            continue
        if state == FAILED:
            if manifest.state.get("replayed_as"):
                report.manifests.append({"manifest": path, "outcome": f"already replayed as {manifest.state['replayed_as']}"})
                continue
            dest = manifest.destination
            batch_ids = flush.hub.batch_ids(dest.project, dest.batches, create=flush.settings.create_batches,
                                            deadline=flush.deadline)
            sizes = {a.external_id: (a.width, a.height) for a in manifest.assets if a.width and a.height}
            assets = [build_asset(ref, storage=dest.storage, batches=batch_ids,
                                  size=sizes.get(old.external_id), url_template=flush.settings.url_template,
                                  external_id_template=flush.settings.external_id_template)
                      for ref, old in zip(manifest.objects, manifest.assets)]
            new_path = flush.manifests.new_path(flush.id)
            again = flush.manifests.create(new_path, dest, assets, manifest.objects, flush.id, flush.lease_s,
                                           uncertain_since=float(manifest.state.get("created_at", 0))
                                           + flush.hub.transport.clock_offset)
            flush._settle_records([(ref, a.external_id, CLAIMED, new_path) for ref, a in zip(manifest.objects, assets)])
            flush.manifests.update(manifest, replayed_as=new_path)
            target = again
        elif state == PENDING:
            st = manifest.state
            if float(st.get("lease_until") or 0) > time.time():
                report.manifests.append({"manifest": path, "outcome": "taken by a running flush"})
                continue
            # A stuck manifest may have been sent by a flush that died: it settles like any other.
            since, not_before = settle_window(st, flush.settings.settle_s, flush.hub.transport.clock_offset)
            if since is not None and not_before > time.time():
                report.manifests.append({"manifest": path, "outcome": "an import of it may still land; it "
                                         f"settles after {datetime.fromtimestamp(not_before).isoformat()}"})
                continue
            if not flush.manifests.update(manifest, owner=flush.id, lease_until=time.time() + flush.lease_s,
                                          uncertain_since=since, not_before=not_before):
                report.manifests.append({"manifest": path, "outcome": "taken by a running flush"})
                continue
            target = manifest
        else:
            report.manifests.append({"manifest": path, "state": state, "outcome": "nothing to do"})
            continue
        flush._send(target, {})
        sent, found, failed = (flush.summary.sent - before[0], flush.summary.found_in_hub - before[1],
                               flush.summary.failed - before[2])
        outcome = {"manifest": path, "replayed_as": target.path, "assets": len(target.assets),
                   "sent": sent - found, "already_in_hub": found, "failed": failed}
        log(logger, logging.INFO, "replayed", **outcome)
        report.manifests.append(outcome)
