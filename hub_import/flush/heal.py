"""Self-healing: remove the copy a lost import left after all.

When a reconcile finds assets absent and the flush sends them again, the lost request could
still land later than the settle time allowed for (a gateway that held it for longer). So the
flush leaves a check behind: `MANIFEST_PREFIX/verify/<name>`, due HEAL_AFTER_SETTLES settle
times later (quirks.py). A later
flush (within the reconcile share of its Hub calls) lists the copies of those externalIds created
since the lost request and soft-deletes the extra copies this product made (the same data URL;
the oldest copy stays), logging both ids. `python -m hub_import audit --fix` does the same for
a whole project.

A check left by a deletion (`after_deletion`) removes every copy, but only copies of the deleted
generation's import: by default an asset's externalId and data URL name the file, not its
generation, so the asset of the name uploaded again and imported anew looks the same in the Hub's
listing. What tells them apart is the ledger: while the name's record says deleted, no later
import of ours made a copy; once a later import claimed it, one copy stays (unless that import's
externalId or URL differs: a template that names the generation), and the check waits while
that import is under way.
"""
from __future__ import annotations

import logging
from hub_import.core import clock

from hub_import.core.assets import Asset
from hub_import.core.hub_quirks import HEAL_AFTER_SETTLES, proven_ours
from hub_import.core.logs import log
from hub_import.core.objects import ObjectRef
from hub_import.hub import HubClient, HubError, Progress
from hub_import.hub.reconcile import _created
from hub_import.state.ledger import DELETED, DELETING, FAILED, SENT, Ledger
from hub_import.state.manifests import FAILED as MANIFEST_FAILED
from hub_import.state.manifests import SENT as MANIFEST_SENT
from hub_import.state.manifests import ManifestStore

logger = logging.getLogger(__name__)


def _prefix(settings) -> str:
    return f"{settings.manifest_prefix}verify/"


def schedule(store, settings, manifest_path: str, project: str, resent: list, since: float,
             remove_all: bool = False, objects: dict | None = None) -> None:
    """Check `resent` (sent again after a reconcile found them absent, whatever that send's outcome)
    for a second copy, HEAL_AFTER_SETTLES settle times from now. `remove_all`: their files have left
    the bucket (deleter.py) and their assets were deleted: any copy found then of the deleted
    generations (`objects`: externalId -> the generation that left) is a late one, removed."""
    name = manifest_path.removeprefix(settings.manifest_prefix).replace("/", "_").removesuffix(".json")
    body = {"manifest": manifest_path, "project": project, "since": since,
            "after": clock.now() + HEAL_AFTER_SETTLES * settings.settle_s,
            "assets": {a.external_id: a.data for a in resent}, "remove_all": remove_all}
    if objects:
        body["objects"] = {k: {"bucket": r.bucket, "name": r.name, "generation": r.generation}
                           for k, r in objects.items()}
    store.write(f"{_prefix(settings)}{name}-{clock.time_ns()}.json", body)


def _merge_due(store, settings) -> list[str]:
    """The due checks, those of one project that have not started merged into one (one read of the
    listing serves them all): paths, the merged one first in its project's place."""
    due: dict[str, list[tuple[str, dict]]] = {}
    started: list[str] = []
    for path in list(store.list(_prefix(settings))):
        doc = store.read(path)
        if doc is None or float(doc.body.get("after", 0)) > clock.now():
            continue
        if doc.body.get("progress") or doc.body.get("remove_all"):
            started.append(path)  # (a check of deleted files keeps its own: it removes every copy)
        else:
            due.setdefault(doc.body["project"], []).append((path, doc.body))
    paths = list(started)
    for project, group in due.items():
        if len(group) == 1:
            paths.append(group[0][0])
            continue
        merged = {"manifest": ", ".join(sorted({b["manifest"] for _, b in group})), "project": project,
                  "since": min(b["since"] for _, b in group), "after": max(b["after"] for _, b in group),
                  "assets": {k: v for _, b in group for k, v in b["assets"].items()}}
        path = f"{_prefix(settings)}merged-{clock.time_ns()}.json"
        store.write(path, merged)  # written before the parts go, so a crash loses no check
        for part, _ in group:
            store.delete(part)
        paths.append(path)
    return paths


def run_due(turn, hub: HubClient, manifests: ManifestStore, ledger: Ledger) -> None:
    """Check every due verification that this flush's (`turn`) share of Hub calls allows; a check
    left by a deletion asks `ledger` (and `manifests`) what became of the name first."""
    settings, summary, store = turn.settings, turn.summary, manifests.store
    for path in _merge_due(store, settings):
        if clock.monotonic() >= turn.pull_until or turn.reconcile_calls_left() <= 0:
            return
        doc = store.read(path)
        if doc is None:
            continue
        body, calls_before = doc.body, hub.calls
        fates = _fates(ledger, manifests, body) if body.get("remove_all") else {}
        if "wait" in fates.values():
            continue  # the name, uploaded again, is being imported: checked once that import settles
        progress, found = Progress.from_json(body.get("progress")), body.get("found") or {}
        checked: list[str] = []  # externalIds whose copies are dealt with: not checked again
        copies, removing = None, None
        try:
            copies = hub.copies(body["project"], body["assets"], since=body.get("since"),
                                max_calls=turn.reconcile_calls_left(), progress=progress, found=found,
                                deadline=turn.deadline)
            if copies is not None:
                for external_id, rows in copies.items():
                    keep_one = fates.get(external_id, "one") != "all"
                    if len(rows) > 1 or (rows and not keep_one):
                        removing = external_id
                        removed = remove_extra_copies(hub, body["project"], external_id,
                                                      body["assets"][external_id], rows, keep_one=keep_one,
                                                      deadline=turn.deadline)
                        summary.duplicates_removed += len(removed)
                    checked.append(external_id)
        except HubError as exc:
            log(logger, logging.WARNING, "checking a re-sent manifest for copies failed; trying later",
                flush_id=turn.id, manifest=body.get("manifest"), reason=str(exc))
            if copies is not None and removing is not None:  # a removal failed, its outcome unknown: the
                _split_off(store, path, body, removing)  # rows kept of it may be gone: listed afresh, alone
                checked.append(removing)
            copies = None
        finally:
            summary.reconcile_calls += hub.calls - calls_before
        if copies is None:  # out of calls or time, or the Hub failed: go on from here next time, without
            # what is dealt with already (its removed copies would be asked to go again, first, every time)
            store.write(path, {**body, "assets": {k: v for k, v in body["assets"].items() if k not in checked},
                               "progress": progress.to_json(),
                               "found": {k: v for k, v in found.items() if k not in checked}})
        if copies is not None:
            store.delete(path)


def _split_off(store, path: str, body: dict, external_id: str) -> None:
    """A check of `external_id` alone, from scratch (no rows kept, no progress), beside `path`'s."""
    objects = {k: v for k, v in (body.get("objects") or {}).items() if k == external_id}
    store.write(f"{path.removesuffix('.json')}-{clock.time_ns()}.json",
                {**{k: v for k, v in body.items() if k not in ("progress", "found", "objects")},
                 "assets": {external_id: body["assets"][external_id]}, **({"objects": objects} if objects else {})})


def _fates(ledger: Ledger, manifests: ManifestStore, body: dict) -> dict[str, str]:
    """For each externalId of a deletion's check, what it may remove of the copies it finds: "all"
    (no later import of ours can have made one), "one" (a later import's asset may be one of them:
    one copy stays), or "wait" (that import is under way). A check without its objects (written
    before they were kept) never removes the last copy."""
    objects = body.get("objects") or {}
    return {external_id: _fate(ledger, manifests, objects.get(external_id), external_id, data)
            for external_id, data in body["assets"].items()}


def _fate(ledger: Ledger, manifests: ManifestStore, obj: dict | None, external_id: str, data: str) -> str:
    if obj is None:
        return "one"
    doc = ledger.read(ObjectRef(obj["bucket"], obj["name"], int(obj["generation"])))
    record = doc.body if doc is not None else None
    if record is None:
        return "one"
    if record.get("state") in (DELETED, DELETING):
        return "all"  # the name's last generation left too: every copy is a late one
    if int(record.get("generation") or 0) > int(obj["generation"]) and (
            record.get("external_id", external_id) != external_id or record.get("data", data) != data):
        return "all"  # the later import's asset is told apart by its externalId or URL
    manifest = record.get("manifest", "")
    if record.get("state") in (SENT, FAILED) or ledger.is_sent(manifest):
        return "one"
    if (manifests.state_of(manifest) or {}).get("state") in (MANIFEST_SENT, MANIFEST_FAILED):
        return "one"
    return "wait"


def after_deletion(manifests, settings, items) -> None:
    """Deleted files (soft_delete.Gone, assets found and about to be recorded deleted) whose import
    once had an unknown outcome: that lost import may still land, after the deletion, as an asset
    of a file no longer in the bucket. Each such manifest gets a check that removes every copy of
    the deleted generations created since the unknown outcome (see the module docstring: not the
    asset of a later import of the name), HEAL_AFTER_SETTLES settle times from now."""
    by_manifest: dict[str, list] = {}
    for item in items:
        manifest = (item.record.body if item.record is not None else {}).get("manifest")
        if manifest:
            by_manifest.setdefault(manifest, []).append(item)
    for manifest, group in by_manifest.items():
        since = (manifests.state_of(manifest) or {}).get("heal_since")
        if since is None:
            continue
        schedule(manifests.store, settings, manifest, group[0].project,
                 [Asset(external_id=i.external_id, data=i.data) for i in group], float(since), remove_all=True,
                 objects={i.external_id: i.message.ref for i in group})


def remove_extra_copies(hub: HubClient, project: str, external_id: str, data_url: str, rows: list[dict],
                        keep_one: bool = True, deadline: float | None = None) -> list[dict]:
    """Soft-delete all but the oldest of our copies of `external_id` (copies with our data URL);
    `keep_one=False`: every one of them (its file has left the bucket). A row that shows no data URL
    cannot be proven ours (it may be an asset made by hand): it is left, and logged. No attempt
    starts after `deadline` (a flush's: within its lease)."""
    ours = [r for r in rows if proven_ours(r, data_url)]
    unproven = [str(r.get("_id")) for r in rows if proven_ours(r, data_url) is None]
    if unproven:
        log(logger, logging.WARNING, "copies that cannot be proven ours (the listing shows no data URL) are left",
            project=project, external_id=external_id, left=unproven)
    if len(ours) < (2 if keep_one else 1):
        return []
    ours.sort(key=lambda r: (_created(r), str(r.get("_id"))))
    keep, extra = (ours[0], list(reversed(ours[1:]))) if keep_one else ({}, list(reversed(ours)))
    hub.delete_assets(project, [str(r["_id"]) for r in extra], deadline=deadline)
    removed = []
    for row in extra:
        log(logger, logging.WARNING, "removed a duplicate this product had created", project=project,
            external_id=external_id, kept=keep.get("_id"), removed=row.get("_id"))
        removed.append({"externalId": external_id, "kept": keep.get("_id"), "removed": row.get("_id")})
    return removed
