"""Replay: send failed or stuck manifests again, through the ledger and the Hub's own listing.

A failed manifest's objects are routed again with today's settings, each on its own (so a
fixed route, template, storage id or batch takes effect, and objects may now go to different
projects), moved to new pending manifests, one per destination, and sent like any other: the
Hub is asked first which of them it already holds, so nothing goes in twice. Each object is
sent as the generation of its name live now: a file fixed by a new upload goes in as that upload
(whose own import met the failed record and was acked as a duplicate), unless the ledger shows
that upload's own import already (then it is left to it). Objects gone from the bucket, that
today's rules skip, or that the ledger shows in the Hub already, are left out. While a
destination still cannot work (a batch still missing), the manifest stays failed, untouched.
A stuck pending manifest (its flush died, or the Hub was down until the deadline) is finished
now instead of at the next scheduled flush.

Dead letters have their own way back: `replay --dead-letters` (deadletters.bring_back).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from google.api_core import exceptions

from hub_import.core import clock
from hub_import.core.assets import Asset
from hub_import.core.decisions import decide
from hub_import.core.logs import log
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.flush import results
from hub_import.flush.destinations import asset_for
from hub_import.flush.run import Flush
from hub_import.flush.turn import sender_lease_s
from hub_import.hub import HubError
from hub_import.state.batch_budget import TemplateCapError
from hub_import.state.ledger import CLAIMED, DELETED, SENT
from hub_import.state.manifests import FAILED, PENDING, Manifest, settle_window
from hub_import.state.store import ConflictError

logger = logging.getLogger(__name__)


@dataclass
class ReplayReport:
    """What `replay` did (or, dry run, would do) with each manifest: one entry each (`entry`), and
    how many dead letters of what it brought into the Hub it acked."""
    manifests: list[dict] = field(default_factory=list)
    dry_run: bool = False
    dead_letters_acked: int = 0

    def lines(self) -> list[str]:
        """The report for a person: one line per manifest, its outcome, detail and numbers."""
        out = [f"{m['manifest']}  {m['outcome']}: {m['detail']}" + "".join(
            f"  {k}={v}" for k, v in m.items() if k not in ("manifest", "outcome", "detail")) for m in self.manifests]
        if self.dead_letters_acked:
            out.append(f"{self.dead_letters_acked} dead letter(s) of files now in the Hub acked")
        if self.dry_run:
            out.append("(dry run: nothing was sent or changed)")
        return out

    def to_json(self) -> dict:
        """The schema of `replay --json` (docs/json/replay.md)."""
        return {"dry_run": self.dry_run, "manifests": self.manifests, "dead_letters_acked": self.dead_letters_acked}


# Each manifest's outcome, one of these codes (docs/json/replay.md), with a `detail` for a person.
REPLAYED, WOULD_REPLAY, NOTHING_TO_SEND, STILL_FAILING = "replayed", "would_replay", "nothing_to_send", "still_failing"
ALREADY_REPLAYED, TAKEN, SETTLING, NOTHING_TO_DO, NOT_FOUND = ("already_replayed", "taken", "settling",
                                                              "nothing_to_do", "not_found")
HUB_UNREACHABLE, STORAGE_WAITING, FLUSH_SENDING = "hub_unreachable", "storage_waiting", "flush_sending"


def entry(manifest: str, outcome: str, detail: str = "", **more) -> dict:
    return {"manifest": manifest, "outcome": outcome, "detail": detail, **more}


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


def replay(flush: Flush, paths: list[str], dry_run: bool = False, inbox=None) -> ReplayReport:
    """Send each manifest in `paths` again; returns what happened to each. `inbox`: a subscriber
    on the dead-letter subscription people read: the dead letters of the files a failed manifest's
    replay leaves in the Hub are acked there (dead_letter_inbox.py `ack_in_hub`)."""
    flush.turn.start(pull_share=False)
    flush.turn.reconcile_budget = 10 ** 6  # asked for by a person: settle what it takes, within the budget
    report = ReplayReport(dry_run=dry_run)
    if not dry_run:
        try:
            flush.hub.ping(deadline=clock.monotonic() + 30)  # and learn the Hub's clock
            ready = flush.bucket_storage.ready(deadline=clock.monotonic() + 30)  # rebuilt assets name it
        except HubError as exc:
            report.manifests.append(entry("*", HUB_UNREACHABLE, f"the Hub does not answer: {exc}"))
            return report
        if not ready:
            report.manifests.append(entry("*", STORAGE_WAITING, flush.summary.storage_waiting))
            return report
    holder = None if dry_run else flush.lease.acquire(sender_lease_s(flush.settings))
    if holder is not None:
        until = clock.iso(float(holder.get("until", 0)))
        report.manifests.append(entry("*", FLUSH_SENDING, f"a flush is sending ({holder.get('owner')}); "
                                      f"try again after {until}", until=until))
        return report
    if not dry_run:
        flush.turn.hold_lease(flush.lease.until)  # no Hub call starts that could outlast it
    brought: set[str] = set()  # the objects of failed manifests now in the Hub, or that may be
    try:
        _replay(flush, paths, dry_run, report, brought)
    finally:
        results.finish(flush.manifests, flush.lease, flush.summary, flush.id)
        flush.lease.release()
    if inbox is not None and brought:
        from .dead_letter_inbox import ack_in_hub

        try:
            report.dead_letters_acked = ack_in_hub(flush, inbox, brought)
        except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
            log(logger, logging.WARNING, f"the dead letters of the files replayed could not be acked ({exc}); "
                "`replay --dead-letters` acks those in the Hub", flush_id=flush.id)
    return report


def held_back(flush: Flush, manifest: Manifest) -> dict | None:
    """The entry of a manifest that replay leaves alone now (the same for a dry run and a real
    one), or None when it is replayed."""
    path, st = manifest.path, manifest.state
    state = st.get("state")
    if state == FAILED:
        if st.get("replayed_as"):
            return entry(path, ALREADY_REPLAYED, f"already replayed as {st['replayed_as']}",
                         replayed_as=st["replayed_as"])
        return None
    if state != PENDING:
        return entry(path, NOTHING_TO_DO, f"{state}: nothing to do", state=state)
    if float(st.get("lease_until") or 0) > clock.now():
        return entry(path, TAKEN, "taken by a running flush", state=state)
    # A stuck manifest may have been sent by a flush that died: it settles like any other.
    since, not_before = settle_window(st, flush.settings.settle_s, flush.hub.transport.clock_offset)
    if since is not None and not_before > clock.now():
        when = clock.iso(not_before)
        return entry(path, SETTLING, f"an import of it may still land; it settles after {when}", state=state,
                     not_before=when)
    return None


def _replay(flush: Flush, paths: list[str], dry_run: bool, report: ReplayReport, brought: set[str]) -> None:
    for path in paths:
        manifest = flush.manifests.load(path)
        if manifest is None:
            report.manifests.append(entry(path, NOT_FOUND, "not found"))
            continue
        state = manifest.state.get("state")
        before = flush.summary.sent, flush.summary.found_in_hub, flush.summary.failed
        left = held_back(flush, manifest)
        if left is not None:
            report.manifests.append(left)
            continue
        if dry_run:
            report.manifests.append(entry(path, WOULD_REPLAY, f"{state}: would be sent again", state=state,
                                          assets=len(manifest.assets)))
            continue
        if state == FAILED:
            try:
                plan, skipped, already = _route_today(flush, manifest)
            except (HubError, TemplateCapError, ConflictError, exceptions.GoogleAPICallError,
                    exceptions.RetryError) as exc:  # (GCS: the bucket or the ledger could not say)
                report.manifests.append(entry(path, STILL_FAILING, f"still failing: {exc}", state=state))
                continue
            brought.update(ref.uri for ref in manifest.objects)  # the ledger says which are in the Hub
            if not plan:
                report.manifests.append(entry(path, NOTHING_TO_SEND, "nothing to send", state=state,
                                              skipped_by_rules=skipped, already_in_hub=already))
                continue
            created = float(manifest.state.get("created_at", 0)) + flush.hub.transport.clock_offset
            targets = []
            for dest, rows in plan.items():
                new_path = flush.manifests.new_path(flush.id)
                targets.append(flush.manifests.create(new_path, dest, [a for _, a in rows], [r for r, _ in rows],
                                                      flush.id, flush.lease_s, uncertain_since=created))
                flush.settler.settle_records([(ref, a, CLAIMED, new_path) for ref, a in rows], dest.project)
            flush.manifests.update(manifest, replayed_as=", ".join(t.path for t in targets))
        else:  # PENDING, not held back
            st = manifest.state
            since, not_before = settle_window(st, flush.settings.settle_s, flush.hub.transport.clock_offset)
            if not flush.manifests.update(manifest, owner=flush.id, lease_until=clock.now() + flush.lease_s,
                                          uncertain_since=since, not_before=not_before):
                report.manifests.append(entry(path, TAKEN, "taken by a running flush", state=state))
                continue
            targets, skipped, already = [manifest], 0, 0
        for target in targets:
            flush.settler.send(target, {})
        sent, found, failed = (flush.summary.sent - before[0], flush.summary.found_in_hub - before[1],
                               flush.summary.failed - before[2])
        outcome = entry(path, REPLAYED, "sent again", state=state, replayed_as=", ".join(t.path for t in targets),
                        assets=sum(len(t.assets) for t in targets), sent=sent - found,
                        already_in_hub=found + already, failed=failed, skipped_by_rules=skipped)
        log(logger, logging.INFO, "replayed", **outcome)
        report.manifests.append(outcome)


def _route_today(flush: Flush, manifest: Manifest) -> tuple[dict[Destination, list[tuple[ObjectRef, Asset]]], int, int]:
    """Each object of a failed manifest, as the generation of its name live now, with today's
    destination and asset, grouped by destination; and how many objects today's rules skip (or
    that left the bucket since), and how many the ledger shows in the Hub already (a duplicate
    caught in a failed destination) or left to the import of the upload that fixed them.
    HubError (or TemplateCapError) when a destination still cannot be resolved."""
    settings = flush.settings
    sizes = {a.external_id: (a.width, a.height) for a in manifest.assets if a.width and a.height}
    rows = list(zip(manifest.objects, manifest.assets))
    lives = list(flush.pool.map(lambda row: flush.live_object(row[0]), rows))  # GCS's errors: not replayed now
    records = list(flush.pool.map(lambda pair: flush.ledger.read(pair[0] or pair[1][0]), zip(lives, rows)))
    grouped: dict[Destination, list] = defaultdict(list)
    skipped = already = 0
    for (failed, old), ref, record in zip(rows, lives, records):
        body = record.body if record is not None else {}
        if ref is None:  # it left the bucket since: nothing to send (in the Hub already, if the ledger says so)
            sent = record is not None and (body.get("state") == SENT or flush.ledger.is_sent(body.get("manifest", "")))
            already, skipped = already + sent, skipped + (not sent)
            continue
        if ref.generation != failed.generation and int(body.get("generation") or 0) == ref.generation:
            already += 1  # the upload that fixed it is ledgered for its own import: left to it
            continue
        dest = decide(ref, settings).destination
        dest = dest and flush.bucket_storage.fill(dest)  # HUB_STORAGE_ID empty: the integration found
        gone = body.get("state") == DELETED and ref.generation <= int(body.get("deleted_generation") or 0)
        if dest is None or gone:  # today's rules skip it, or it left the bucket (ON_DELETE=delete)
            skipped += 1
        elif record is not None and (body.get("state") == SENT or flush.ledger.is_sent(body.get("manifest", ""))):
            already += 1
        else:  # the image size probed was of the failed generation's content only
            grouped[dest].append((ref, old if ref.generation == failed.generation else None))
    plan = {}
    for dest, objects in grouped.items():
        batch_ids = flush.batches.ids(dest)
        plan[dest] = [(ref, asset_for(settings, ref, dest, batch_ids, old and sizes.get(old.external_id),
                                      flush_id=flush.id)) for ref, old in objects]
    return plan, skipped, already
