"""`audit`: what the import history says was sent, against what the Hub holds.

For one Hub project: every asset of a sent manifest (since a date) is looked for in the Hub's
listing, read whole (ceil(T / 100) calls for T assets). It reports

    missing      sent by us (a sent manifest holds it) but not in the Hub, and not deleted by us
    deleted      sent by us, and no longer in the Hub because the product deleted it: its file left
                 the bucket and ON_DELETE=delete soft-deleted its asset (the ledger's record says
                 deleted, or deleting, for that generation: state/ledger.py, flush/deleter.py)
    recent       sent by us less than HUB_SETTLE_SECONDS ago and not listed yet: not judged, as
                 the listing may lag the imports (hub_quirks.py); audit again later
    duplicated   an externalId the Hub holds more than once
    unknown      in the Hub but in none of our sent manifests (uploaded by hand, or before us)

`fix=True` removes duplicates this product created, and only those: copies whose `data` URL is
the one our manifest sent. The oldest copy stays (labels are most likely on it); the others are
soft-deleted, newest first, each logged with the id kept and the id removed.

Reading the Hub's listing takes ceil(T / 100) calls at the Hub's pace (about 10 minutes for 100k
assets): `progress` (ops/progress.py) is told after each page.
"""
from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from hub_import.core import clock
from hub_import.core.settings import Settings
from hub_import.flush.heal import remove_extra_copies
from hub_import.hub import HubClient
from hub_import.core.objects import ObjectRef
from hub_import.state.ledger import DELETED, DELETING, Ledger
from hub_import.state.manifests import SENT


@dataclass
class AuditReport:
    project: str
    sent: int = 0
    in_hub: int = 0
    missing: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    recent: list[str] = field(default_factory=list)
    duplicated: dict[str, int] = field(default_factory=dict)
    unknown: int = 0
    removed: list[dict] = field(default_factory=list)
    hub_calls: int = 0

    def lines(self) -> list[str]:
        """The report for a person: the counts, then up to 20 missing and 20 duplicated."""
        return ([f"project {self.project}: {self.sent} sent by us, {self.in_hub} assets in the Hub, "
                 f"missing: {len(self.missing)}, deleted: {len(self.deleted)} (ON_DELETE=delete), "
                 f"{len(self.recent)} sent too recently to judge, {len(self.duplicated)} duplicated, "
                 f"{self.unknown} unknown to us, {len(self.removed)} removed ({self.hub_calls} Hub calls)"]
                + [f"  missing     {e}" for e in self.missing[:20]]
                + [f"  duplicated  {e}  x{n}" for e, n in sorted(self.duplicated.items())[:20]])

    def to_json(self) -> dict:
        """The schema of `audit --json` (docs/json/audit.md)."""
        return {"project": self.project, "sent": self.sent, "in_hub": self.in_hub, "missing": self.missing,
                "deleted": self.deleted, "recent": self.recent,
                "duplicated": self.duplicated, "unknown": self.unknown, "removed": self.removed,
                "hub_calls": self.hub_calls,
                "counts": {"sent": self.sent, "in_hub": self.in_hub, "missing": len(self.missing),
                           "deleted": len(self.deleted), "recent": len(self.recent),
                           "duplicated": len(self.duplicated), "unknown": self.unknown,
                           "removed": len(self.removed)}}


def sent_assets(settings: Settings, store, project: str, since: datetime | None,
                recent: set[str] | None = None, objects: dict[str, ObjectRef] | None = None) -> dict[str, str]:
    """externalId -> data URL, for every asset of the sent manifests for `project`; those of the
    manifests sent less than HUB_SETTLE_SECONDS ago are also added to `recent`, when given, and
    each asset's object (the generation sent) to `objects`, when given."""
    settled = clock.now() - settings.settle_s
    prefix = settings.manifest_prefix
    start = prefix + since.strftime("%Y/%m/%d") if since else prefix
    wanted: dict[str, str] = {}
    for name in store.list(prefix):
        if not name.endswith(".state.json") or name < start:
            continue
        state = store.read(name)
        if state is None or state.body.get("state") != SENT or \
                state.body.get("destination", {}).get("project") != project:
            continue
        assets = store.read(name.removesuffix(".state.json") + ".json")
        fresh = float(state.body.get("settled_at") or state.body.get("updated_at") or 0) > settled
        refs = state.body.get("objects") or []
        for i, asset in enumerate(assets.body if assets else []):
            wanted[asset["externalId"]] = asset["data"]
            if objects is not None and i < len(refs) and len(refs) == len(assets.body):
                objects[asset["externalId"]] = ObjectRef.from_json(refs[i])
            if fresh and recent is not None:
                recent.add(asset["externalId"])
    return wanted


def copies_in_hub(hub: HubClient, project: str, deadline: float | None = None,
                  progress=None) -> dict[str, list[dict]]:
    """externalId -> every live asset row the Hub lists for it (the whole listing, page by page);
    `progress(rows read, total)` after each page, when given."""
    rows_by_id: dict[str, dict[str, dict]] = defaultdict(dict)
    page, seen = 1, 0
    while True:
        rows, total = hub.list_assets(project, page=page, deadline=deadline)
        for row in rows:
            rows_by_id[str(row.get("externalId"))][str(row.get("_id"))] = row
        seen += len(rows)
        if progress is not None:
            progress(seen, total)
        if not rows or seen >= total:  # pages may hold fewer rows than asked for: count, do not assume
            break
        page += 1
    return {k: list(v.values()) for k, v in rows_by_id.items()}


def deleted_by_us(ledger: Ledger, ref: ObjectRef | None) -> bool:
    """Whether the ledger says this generation left the bucket and the product deleted (or is
    deleting) its asset (ON_DELETE=delete)."""
    if ref is None:
        return False
    record = ledger.read(ref)
    body = record.body if record is not None else {}
    return body.get("state") in (DELETED, DELETING) and \
        ref.generation <= int(body.get("deleted_generation") or body.get("generation") or 0)


def audit(settings: Settings, store, hub: HubClient, project: str, since: datetime | None = None,
          fix: bool = False, progress=None) -> AuditReport:
    """See the module docstring; `progress(rows read, total)` after each page of the Hub's listing."""
    report = AuditReport(project)
    calls_before = hub.calls
    recent: set[str] = set()
    objects: dict[str, ObjectRef] = {}
    ours = sent_assets(settings, store, project, since, recent, objects)
    held = copies_in_hub(hub, project, progress=progress)
    report.sent = len(ours)
    report.in_hub = sum(len(v) for v in held.values())
    absent = sorted(e for e in ours if e not in held and e not in recent)
    ledger = Ledger(store, settings.ledger_prefix, settings.each_generation)
    with ThreadPoolExecutor(16) as pool:  # one ledger read per absent asset: deletions may be many
        gone = dict(zip(absent, pool.map(lambda e: deleted_by_us(ledger, objects.get(e)), absent)))
    report.missing = [e for e in absent if not gone[e]]
    report.deleted = [e for e in absent if gone[e]]
    report.recent = sorted(e for e in ours if e not in held and e in recent)
    report.duplicated = {e: len(v) for e, v in held.items() if len(v) > 1}
    report.unknown = sum(1 for e in held if e not in ours)
    if fix:
        for external_id in sorted(report.duplicated):
            if external_id in ours:
                report.removed += remove_extra_copies(hub, project, external_id, ours[external_id],
                                                      held[external_id])
    report.hub_calls = hub.calls - calls_before
    return report
