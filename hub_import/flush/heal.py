"""Self-healing: remove the copy a lost import left after all.

When a reconcile finds assets absent and the flush sends them again, the lost request could
still land later than the settle time allowed for (a gateway that held it for longer). So the
flush leaves a check behind: `MANIFEST_PREFIX/verify/<name>`, due HEAL_AFTER_SETTLES settle
times later (quirks.py). A later
flush (within the reconcile share of its Hub calls) lists the copies of those externalIds created
since the lost request and soft-deletes the extra copies this product made (the same data URL;
the oldest copy stays), logging both ids. `python -m hub_import audit --fix` does the same for
a whole project.
"""
from __future__ import annotations

import logging
import time

from hub_import.core.assets import Asset
from hub_import.core.hub_quirks import HEAL_AFTER_SETTLES
from hub_import.core.logs import log
from hub_import.hub import HubClient, HubError, Progress
from hub_import.hub.reconcile import _created

logger = logging.getLogger(__name__)


def _prefix(settings) -> str:
    return f"{settings.manifest_prefix}verify/"


def schedule(store, settings, manifest_path: str, project: str, resent: list, since: float,
             remove_all: bool = False) -> None:
    """Check `resent` (sent again after a reconcile found them absent, whatever that send's outcome)
    for a second copy, HEAL_AFTER_SETTLES settle times from now. `remove_all`: their files have left
    the bucket (deleter.py) and their assets were deleted: any copy found then is a late one, removed."""
    name = manifest_path.removeprefix(settings.manifest_prefix).replace("/", "_").removesuffix(".json")
    store.write(f"{_prefix(settings)}{name}-{time.time_ns()}.json",
                {"manifest": manifest_path, "project": project, "since": since,
                 "after": time.time() + HEAL_AFTER_SETTLES * settings.settle_s,
                 "assets": {a.external_id: a.data for a in resent}, "remove_all": remove_all})


def _merge_due(store, settings) -> list[str]:
    """The due checks, those of one project that have not started merged into one (one read of the
    listing serves them all): paths, the merged one first in its project's place."""
    due: dict[str, list[tuple[str, dict]]] = {}
    started: list[str] = []
    for path in list(store.list(_prefix(settings))):
        doc = store.read(path)
        if doc is None or float(doc.body.get("after", 0)) > time.time():
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
        path = f"{_prefix(settings)}merged-{time.time_ns()}.json"
        store.write(path, merged)  # written before the parts go, so a crash loses no check
        for part, _ in group:
            store.delete(part)
        paths.append(path)
    return paths


def run_due(turn, hub: HubClient, store) -> None:
    """Check every due verification that this flush's (`turn`) share of Hub calls allows; `store`
    is the state bucket's."""
    settings, summary = turn.settings, turn.summary
    for path in _merge_due(store, settings):
        if time.monotonic() >= turn.pull_until or turn.reconcile_calls_left() <= 0:
            return
        doc = store.read(path)
        if doc is None:
            continue
        body, calls_before = doc.body, hub.calls
        progress, found = Progress.from_json(body.get("progress")), body.get("found") or {}
        try:
            copies = hub.copies(body["project"], body["assets"], since=body.get("since"),
                                max_calls=turn.reconcile_calls_left(), progress=progress, found=found,
                                deadline=turn.deadline)
            if copies is not None:
                keep_one = not body.get("remove_all")
                for external_id, rows in copies.items():
                    if len(rows) > 1 or (rows and not keep_one):
                        removed = remove_extra_copies(hub, body["project"], external_id,
                                                      body["assets"][external_id], rows, keep_one=keep_one)
                        summary.duplicates_removed += len(removed)
        except HubError as exc:
            log(logger, logging.WARNING, "checking a re-sent manifest for copies failed; trying later",
                flush_id=turn.id, manifest=body.get("manifest"), reason=str(exc))
            copies = None
        finally:
            summary.reconcile_calls += hub.calls - calls_before
        if copies is None:  # out of calls or the Hub failed: go on from here next time
            store.write(path, {**body, "progress": progress.to_json(), "found": found})
        if copies is not None:
            store.delete(path)


def after_deletion(manifests, settings, items) -> None:
    """Deleted files (soft_delete.Gone, assets found and about to be recorded deleted) whose import
    once had an unknown outcome: that lost import may still land, after the deletion, as an asset
    of a file no longer in the bucket. Each such manifest gets a check that removes every copy
    created since the unknown outcome, HEAL_AFTER_SETTLES settle times from now."""
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
                 [Asset(external_id=i.external_id, data=i.data) for i in group], float(since), remove_all=True)


def remove_extra_copies(hub: HubClient, project: str, external_id: str, data_url: str, rows: list[dict],
                        keep_one: bool = True) -> list[dict]:
    """Soft-delete all but the oldest of our copies of `external_id` (copies with our data URL);
    `keep_one=False`: every one of them (its file has left the bucket)."""
    ours = [r for r in rows if r.get("data") == data_url]
    if len(ours) < (2 if keep_one else 1):
        return []
    ours.sort(key=lambda r: (_created(r), str(r.get("_id"))))
    keep, extra = (ours[0], list(reversed(ours[1:]))) if keep_one else ({}, list(reversed(ours)))
    hub.delete_assets(project, [str(r["_id"]) for r in extra])
    removed = []
    for row in extra:
        log(logger, logging.WARNING, "removed a duplicate this product had created", project=project,
            external_id=external_id, kept=keep.get("_id"), removed=row.get("_id"))
        removed.append({"externalId": external_id, "kept": keep.get("_id"), "removed": row.get("_id")})
    return removed
