"""`backfill --dry-run`: what a backfill would do with each file, judged without a Hub call.

Each listed file is judged by today's rules (core/decisions.py) and then by its ledger record
(state/ledger.py), the same record the flush meets when the file's message arrives:

    new        today's rules route it and the ledger has no record of it (or only of a deletion
               of an older generation): a backfill would bring it into the Hub
    in_hub     the ledger says it was sent (its record says sent, or its manifest has a sent
               marker): a backfill would queue it and the flush drop it as a duplicate
    skipped    today's rules skip it, or the ledger shows it failed, deleted, being deleted, or
               on its way in a manifest not settled yet; each with its reason

The evidence is the ledger alone: one state-bucket read per file (and one per manifest), no
Hub call; an asset removed in the Hub by hand since is still "in_hub" here (`audit` finds it).
"""
from __future__ import annotations

from dataclasses import dataclass

from hub_import.core.decisions import decide
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.settings import Settings
from hub_import.state.ledger import CLAIMED, DELETED, DELETING, FAILED, SENT, Ledger

NEW, IN_HUB, SKIPPED = "new", "in_hub", "skipped"


@dataclass(frozen=True)
class FilePlan:
    object: str
    verdict: str  # NEW | IN_HUB | SKIPPED
    reason: str = ""  # why, for IN_HUB and SKIPPED
    destination: Destination | None = None  # where today's rules route it (None: skipped by the rules)

    def to_json(self) -> dict:
        return {"object": self.object, "verdict": self.verdict, "reason": self.reason,
                "route": route_json(self.destination) if self.destination else None}


def route_json(dest: Destination) -> dict:
    return {"project": dest.project, "storage": dest.storage, "batches": list(dest.batches)}


def judge(ref: ObjectRef, settings: Settings, ledger: Ledger | None) -> FilePlan:
    """One file's plan (`ledger` None: the rules alone, every routed file counted new)."""
    decision = decide(ref, settings)
    if decision.destination is None:
        return FilePlan(ref.uri, SKIPPED, decision.reason)
    dest = decision.destination
    record = ledger.read(ref) if ledger is not None else None
    if record is None:
        return FilePlan(ref.uri, NEW, "", dest)
    body = record.body
    state, manifest = body.get("state"), str(body.get("manifest") or "")
    if state == DELETED:
        if ref.generation > int(body.get("deleted_generation") or body.get("generation") or 0):
            return FilePlan(ref.uri, NEW, "", dest)  # uploaded again after a deletion: imported anew
        return FilePlan(ref.uri, SKIPPED, "the ledger says this generation was deleted (ON_DELETE=delete)", dest)
    if state == DELETING:
        return FilePlan(ref.uri, SKIPPED, "the ledger says its deletion is under way", dest)
    if state == SENT or ledger.is_sent(manifest):
        return FilePlan(ref.uri, IN_HUB, f"the ledger says sent in {manifest or 'an earlier import'}", dest)
    if state == FAILED:
        return FilePlan(ref.uri, SKIPPED, f"the ledger says it failed in {manifest}: fix the cause, then "
                                          "`replay --failed`", dest)
    if state == CLAIMED:
        return FilePlan(ref.uri, SKIPPED, f"on its way: claimed for {manifest or 'a manifest'}, not settled yet "
                                          "(a flush finishes it; see status)", dest)
    return FilePlan(ref.uri, SKIPPED, f"the ledger holds an unknown state {state!r}", dest)


def dry_run_lines(report) -> list[str]:
    """`backfill --dry-run` for a person (a BackfillReport): each file's verdict, then the counts,
    the routes and the reasons for skipping."""
    lines = [f"{f.verdict:<8} {f.object}" + (f"  ({f.reason})" if f.reason else "") for f in report.files]
    lines.append(f"{report.listed} files listed: {report.new} new, {report.in_hub} already in the Hub (the "
                 f"ledger says sent), {report.skipped} skipped  in {report.seconds:.1f} s")
    if report.in_hub:
        lines.append(f"a backfill would queue {report.queued}; the flush drops the {report.in_hub} in the Hub "
                     "already as duplicates")
    for title, counter in (("by route", report.by_route), ("skipped, by reason", report.by_reason)):
        if counter:
            lines.append(f"{title}:")
            for label, n in counter.most_common():
                shown = (f"{label.project} batches [{', '.join(label.batches)}]" if isinstance(label, Destination)
                         else label)
                lines.append(f"  {n:>7}  {shown}   e.g. {', '.join(report.examples[label])}")
    lines.append("(dry run: nothing was queued; evidence: the ledger in the state bucket, no Hub call)")
    return lines
