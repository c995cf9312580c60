"""A deletion's result (ON_DELETE=delete) on the results topic: one per object that left the
bucket, told before its messages are acked.

Each result is marked in the ledger (`Ledger.mark_untold`) before it is handed to Pub/Sub, and
unmarked once Pub/Sub confirms it. A result not confirmed leaves its messages unacked: they come
back, and whatever became of the name meanwhile (uploaded again, imported anew, its record
rewritten), the deleter finds the marker and tells that result again (`RETOLD`), the same
result_id and the same bytes, before it acks. A deletion delivered again after it was told meets
its record marked deleted ("already_deleted") and is told again from that record.
"""
from __future__ import annotations

import logging

from hub_import.core import clock
from hub_import.core.logs import log

from .results import WAIT_S, Results, _confirmed, _send, messages

logger = logging.getLogger(__name__)

DELETION_RESULTS = {"deleted", "not_in_hub", "not_imported", "left_unproven"}
# A deletion told again from its marker: its result was not confirmed when it was first told.
RETOLD = "retold"
# A deletion held by the guard (deletion_guard.py): nothing done, so only the results its markers
# hold of earlier deletions are told before its messages are acked; a marker of its own result
# (an earlier try whose record write failed) stays, for when it is carried out.
HELD = "held"


def tell_deletions(hooks: Results | None, ledger, items, state: str, flush_id: str) -> list[bool]:
    """Publish the result of each deletion in `items` (soft_delete.Gone) whose outcome is `state`
    (RETOLD: only the results its markers hold, `item.untold`; any other state tells those as well,
    so that no ack drops one); per item, whether its messages may be
    acked (True for what has no result: results off, an overwrite, an ignored deletion). Never raises."""
    if hooks is None or state not in DELETION_RESULTS | {"already_deleted", RETOLD, HELD}:
        return [True] * len(items)
    sends = []
    for item in items:
        futures, paths = [], []
        try:
            told = list(item.untold)  # earlier deletions of the name not confirmed yet: told with this one
            if state == HELD:  # not carried out: a marker of its own (a try whose record write failed) waits for it
                own = f"{ledger.path(item.message.ref)}@{item.message.ref.generation}"
                told = [(m, r) for m, r in told if r.get("manifest") != own]
            elif state != RETOLD:
                result = deletion_result(ledger, item, state)
                same = [m for m, r in told if r.get("manifest") == result["manifest"]]  # marked already
                told = [(same[0] if same else None, result)] + [(m, r) for m, r in told
                                                                 if r.get("manifest") != result["manifest"]]
            for path, result in told:
                # Marked first: a result not confirmed is owed whatever happens to the name afterwards.
                paths.append(path or ledger.mark_untold(item.message.ref, result["manifest"], result))
                futures += _send(hooks.publisher, hooks.topic, messages(**result))
        except Exception as exc:  # noqa: BLE001 - as in Results.settled: it comes back instead
            futures.append(exc)
        sends.append((futures, paths))
    deadline = clock.monotonic() + WAIT_S
    confirmed = []
    for item, (futures, paths) in zip(items, sends):
        ok = _confirmed(futures, deadline, ledger.path(item.message.ref), flush_id)
        if ok:
            _unmark(ledger, paths, flush_id)
        confirmed.append(ok)
    return confirmed


def _unmark(ledger, paths: list[str], flush_id: str) -> None:
    for path in paths:
        try:
            ledger.told(path)
        except Exception as exc:  # noqa: BLE001 - a marker left behind only tells it once more
            log(logger, logging.WARNING, f"unmarking a told deletion failed: {exc}", flush_id=flush_id, marker=path)


def deletion_result(ledger, item, state: str) -> dict:
    """The arguments of `messages` for one deletion: `manifest` is its ledger record's path and
    the generation that left (`<path>@<generation>`), so that `result_id` names that deletion."""
    body = item.record.body if item.record is not None and state == "already_deleted" else {}
    asset_ids = list(body.get("asset_ids") or item.asset_ids)
    if state == "already_deleted":  # told again from what the ledger recorded the first time
        state = "deleted" if asset_ids else "not_imported" if body.get("note") else \
            "left_unproven" if body.get("left_ids") else "not_in_hub"
    ref = item.message.ref
    generation = int(body.get("deleted_generation") or ref.generation)
    row = {"object": ref.uri, "generation": str(generation), "externalId": item.external_id or "",
           "assetIds": asset_ids, "outcome": state}
    left = list(body.get("left_ids") or item.left_ids)
    if left:  # listed under its externalId, not proven ours: left in the Hub, named so that a person can look
        row["leftIds"] = left
    return {"kind": "delete", "project": item.project or body.get("project") or "", "rows": [row],
            "manifest": f"{ledger.path(ref)}@{generation}", "state": state,
            "at": float(body.get("at") or item.at)}
