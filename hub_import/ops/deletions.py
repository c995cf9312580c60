"""`deletions`: the deletions held past MAX_DELETIONS_PER_HOUR (flush/deletion_guard.py), and what
a person decides about them.

    deletions              how many are held, the oldest, a few names
    deletions --approve    carry them out: each marked approved in its held record, then queued again
                           as a deletion message (source "approved") that the flush carries out past
                           the limit, through the same deleter as any deletion
    deletions --discard    keep the assets: the held records dropped, the ledger untouched

Why queue again rather than delete here: the flush is the one sender (its lease), paces the Hub,
writes each deletion's intent before its DELETE and records it in the ledger, so a deletion queued
twice (approve run twice, a message delivered twice) is carried out once and the second finds it
done. The held record stays until the flush has done the deletion (whatever its outcome: a name
uploaded again since is "overwritten" and nothing is deleted), so an approve whose publish fails,
or a flush that dies, loses nothing: approve again.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from hub_import.core import clock
from hub_import.core.messages import DeletionMessage, PublishError, wait
from hub_import.core.settings import Settings
from hub_import.flush.deletion_guard import APPROVED
from hub_import.core.objects import ObjectRef
from hub_import.state.held_deletions import HeldDeletions, ref_of
from hub_import.state.ledger import Ledger
from hub_import.state.store import ConflictError

EXAMPLES = 5


@dataclass
class Held:
    """What is held: `count` (`approved` of them approved and not yet carried out), the oldest.
    Its JSON: docs/json/deletions.md (times ISO 8601 UTC; `oldest_at` is epoch seconds only here)."""

    count: int = 0
    approved: int = 0
    oldest_at: float | None = None
    examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        age = None if self.oldest_at is None else max(0, int(clock.now() - self.oldest_at))
        return {**asdict(self), "oldest_at": clock.iso(self.oldest_at), "oldest_age_seconds": age}

    def lines(self) -> list[str]:
        if not self.count:
            return ["no deletions held"]
        out = [f"{self.count} deletion(s) held: over MAX_DELETIONS_PER_HOUR; oldest held "
               f"{_age(self.oldest_at)} ago" + (f"; {self.approved} approved, waiting for a flush" if self.approved else "")]
        out += [f"  {uri}" for uri in self.examples]
        if self.count > len(self.examples):
            out.append(f"  ... and {self.count - len(self.examples)} more")
        out.append("`deletions --approve` carries them out; `deletions --discard` keeps the assets")
        return out


def held(settings: Settings, store) -> Held:
    """Every held deletion, read once."""
    report = Held()
    for _, doc in HeldDeletions(store, settings.ledger_prefix).records():
        report.count += 1
        report.approved += bool(doc.body.get("approved_at"))
        at = float(doc.body.get("held_at") or 0)
        report.oldest_at = at if report.oldest_at is None else min(report.oldest_at, at)
        if len(report.examples) < EXAMPLES:
            report.examples.append(str(doc.body.get("object")))
    return report


@dataclass
class Released:
    """What `--approve` or `--discard` did."""

    action: str
    done: int = 0  # queued again (approve) or dropped (discard)
    failed: int = 0  # left held, to try again
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        if self.action == "approve":
            said = f"{self.done} held deletion(s) approved and queued: the next flushes carry them out"
        else:
            said = f"{self.done} held deletion(s) discarded: their assets stay in the Hub"
        if self.failed:
            said += f"; {self.failed} failed and stay held (run it again): {'; '.join(self.errors[:3])}"
        return said


def approve(settings: Settings, store, publisher) -> Released:
    """Mark each held deletion approved, then queue it again on the topic (confirmed by Pub/Sub)."""
    report = Released("approve")
    held_store = HeldDeletions(store, settings.ledger_prefix)
    pending = []
    for path, doc in held_store.records():
        try:
            held_store.approve(path, doc)
        except ConflictError:  # changed meanwhile (a flush held a newer generation): read it again
            doc = store.read(path)
            if doc is None:
                continue  # carried out or discarded meanwhile
            try:
                held_store.approve(path, doc)
            except ConflictError as exc:
                report.failed += 1
                report.errors.append(f"{path}: changed while approving ({exc})")
                continue
        body = doc.body
        message = DeletionMessage(ref_of(body), str(body.get("event") or "deleted"),
                                  str(body.get("event_id") or ""), source=APPROVED)
        data, attributes = message.encode()
        pending.append((path, publisher.publish(settings.topic_path, data, **attributes)))
    for path, future in pending:
        try:
            wait(future)
            report.done += 1
        except PublishError as exc:
            report.failed += 1
            report.errors.append(f"{path}: {exc}")
    return report


def discard(settings: Settings, store) -> Released:
    """Keep the assets of every held deletion: each is recorded as kept (state/held_deletions.py),
    so that the same deletion queued again (`sweep --deletions`, a duplicate) deletes nothing."""
    report = Released("discard")
    held_store = HeldDeletions(store, settings.ledger_prefix)
    for path in list(held_store.paths()):
        report.done += bool(held_store.discard(path))
    return report


def held_for(settings: Settings, store, bucket: str, name: str, generations: set[int]) -> dict | None:
    """The held deletion of the file (for `trace`): of its name, or (ON_OVERWRITE=import) of one of
    `generations`, the newest; None when none is held."""
    ledger = Ledger(store, settings.ledger_prefix, settings.each_generation)
    held_store = HeldDeletions(store, settings.ledger_prefix)
    refs = [ObjectRef(bucket, name, g) for g in sorted(generations, reverse=True)] if settings.each_generation else \
        [ObjectRef(bucket, name, 0)]
    for ref in refs:
        doc = held_store.read(ledger.key(ref))
        if doc is not None:
            return dict(doc.body)
    return None


def _age(at: float | None) -> str:
    seconds = int(clock.now() - (at or clock.now()))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
