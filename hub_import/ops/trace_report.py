"""What a trace says: its parts (`Trace`), the one verdict they add up to, and the screen that shows
them (`render`). trace.py gathers the parts; this decides and shows, and reads nothing itself."""
from __future__ import annotations

from hub_import.core import clock
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from hub_import.core.bucket_storage import AMBIGUOUS, WAITING
from hub_import.core.text import lines_for_terminal
from hub_import.state.ledger import CLAIMED, DELETED
from hub_import.state.manifests import FAILED, PENDING, SENT

HUB_PAGES = 20  # per externalId: more means the Hub's filter does not filter; say so, do not read it all


@dataclass
class Trace:
    uri: str
    object: dict | None = None  # GCS metadata; None when the object is gone
    rules: dict = field(default_factory=dict)  # {"route": {...}} or {"skipped": reason}; "judged_by"
    ledger: list[dict] = field(default_factory=list)
    manifests: list[dict] = field(default_factory=list)  # oldest first
    dead_letters: list[dict] = field(default_factory=list)
    hub: dict = field(default_factory=dict)  # {"copies": [...], "asked": [...]} or {"error": why}
    storage: dict = field(default_factory=dict)  # HUB_STORAGE_ID empty: what the flush last found (ops/storages.py)
    health: dict = field(default_factory=dict)  # the last flush's health record, judged (ops/health_view.py)
    held: dict | None = None  # its deletion held past MAX_DELETIONS_PER_HOUR (ops/deletions.py)
    swept: dict = field(default_factory=dict)  # queued by the sweep, its event lost: {object, generation, at}
    outcome: str = ""
    verdict: str = ""

    def to_json(self) -> dict:
        """The schema of docs/json/trace.md: times ISO 8601 UTC, the ledger's state in the text's words."""
        body = asdict(self)
        for r in body["ledger"]:
            r["ledger_state"] = r.get("state")
            r["state"] = "sent" if r.get("manifest_sent") and r.get("state") == CLAIMED else r.get("state")
        for row in [body["object"] or {}, body["storage"], *body["ledger"], *body["manifests"], *body["dead_letters"],
                    *body["hub"].get("copies", []), body["held"] or {}, body["swept"]]:
            for key in TIMES:
                if key in row:
                    row[key] = clock.iso(row[key]) if row[key] not in (None, "", 0) else None
        for row in body["dead_letters"]:  # (a dead letter's attribute is text)
            if str(row.get("generation") or "").isdigit():
                row["generation"] = int(row["generation"])
        body["storage"] = body["storage"] or None  # as in status: null when the settings name the integration
        body["swept"] = body["swept"] or None  # null: no sweep queued it
        body["health"].pop("record", None)  # (`status --json` shows it; trace keeps when it was written)
        return body


# The fields that hold a time, in any part of a trace (epoch seconds or ISO strings as gathered).
TIMES = ("held_at", "approved_at", "at", "created", "updated", "created_at", "updated_at", "uncertain_since", "not_before", "lease_until",
         "since", "published", "createdAt", "last_flush_at")


def when(t) -> str:
    """A time (epoch seconds or an ISO string) as 'YYYY-MM-DD HH:MM:SS UTC'; other text as it is."""
    try:
        moment = datetime.fromtimestamp(float(t), timezone.utc) if isinstance(t, (int, float)) else \
            datetime.fromisoformat(str(t).replace("Z", "+00:00"))
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError):  # (9999-12-31T23:59:59-23:59 has no time in UTC)
        return str(t)


def verdict(t: Trace, now: float | None = None) -> tuple[str, str]:
    """(outcome, the one line that says it) from the parts of `t`; the first that holds wins."""
    now = clock.now() if now is None else now
    listed = t.hub.get("copies") or []
    # An asset under its externalId with another data URL is not this file's (made by hand): neither a
    # copy of it nor a sign it is in the Hub (`audit --fix` leaves it). A row without data cannot be told.
    others = [c for c in listed if c.get("data") and not c.get("ours")]
    copies = [c for c in listed if c not in others]
    besides = (f"; {len(others)} other asset(s) under its externalId not made from this file, left alone "
               f"({', '.join(str(c['id']) for c in others)})") if others else ""
    # A pending manifest still lists an object that moved on (its record names the new manifest).
    owned = {r.get("manifest") for r in t.ledger}
    pending = [m for m in t.manifests if m["state"] == PENDING and (not t.ledger or m["path"] in owned)]
    # A duplicate is two copies under one externalId; under ON_OVERWRITE=import each generation has its own.
    by_id: dict[str, list] = {}
    for c in copies:
        by_id.setdefault(str(c.get("externalId")), []).append(c)
    if t.held and not t.object:  # its deletion waits for a person (uploaded again since: it no longer applies)
        return "held", (f"deletion held: over MAX_DELETIONS_PER_HOUR ({t.held.get('limit')}); run "
                        "`python -m hub_import deletions --approve` or `--discard`")
    most = max(by_id.values(), key=len, default=[])
    if len(most) > 1:
        return "duplicated", f"in the Hub {len(most)} times: run `hub-import audit --fix`"
    if copies:
        live = str((t.object or {}).get("generation"))
        current = {r.get("external_id") for r in t.ledger + t.manifests if str(r.get("generation")) == live}
        c = ([c for c in copies if c.get("externalId") in current] or copies)[-1]
        if len(by_id) > 1:
            besides = (f"; {len(by_id) - 1} other generation(s) of it in the Hub too "
                       f"({', '.join(sorted(e for e in by_id if e != c.get('externalId')))})") + besides
        since = f" since {when(c['createdAt'])}" if c.get("createdAt") else ""
        gone = "" if t.object else "; the file is gone from the bucket"
        still = f"; pending manifest {pending[-1]['path']} learns it when it settles" if pending else ""
        return "in_hub", f"in the Hub once{since} (asset {c['id']}){gone}{still}{besides}"
    # A deletion is the story unless the live generation has a record of its own (ON_OVERWRITE=import:
    # one record per generation; the live one, rejected or pending, says more than an older one's deletion).
    live = str((t.object or {}).get("generation"))
    newer = any(str(r.get("generation")) == live and r.get("state") != DELETED for r in t.ledger)
    gone = [] if newer else sorted((r for r in t.ledger if r.get("state") == DELETED),
                                   key=lambda r: float(r.get("at") or 0))
    if gone:
        return "deleted", _deleted(gone[-1], t.object)
    if pending:
        m = pending[-1]
        if m.get("uncertain_since") is not None:
            return "settling", f"settling: an import's answer was lost; asked again after {when(m['not_before'])}"
        if float(m.get("lease_until") or 0) > now:
            return "pending", (f"waiting in pending manifest {m['path']} (held by flush {m['owner']} until "
                               f"{when(m['lease_until'])}; attempt {m['attempts']})")
        return "pending", f"waiting in pending manifest {m['path']} (attempt {m['attempts']}, {m['error'] or 'not sent yet'})"
    sent = [m for m in t.manifests if m["state"] == SENT] + \
        [{"path": r["manifest"], "updated_at": r.get("at")} for r in t.ledger if r["manifest_sent"] or r["state"] == SENT]
    if sent:
        m = sent[-1]
        if "error" in t.hub:
            return "sent", f"sent in {m['path']} at {when(m['updated_at'])} ({t.hub['error']})"
        return "missing", (f"sent in {m['path']} at {when(m['updated_at'])}, but the Hub holds no asset under its "
                           f"externalId (removed in the Hub?)")
    if "skipped" in t.rules:
        return "skipped", f"skipped: {t.rules['skipped']}"
    failed = [m for m in t.manifests if m["state"] == FAILED and not m.get("replayed_as")]
    if failed:
        return "failed", f"failed: {failed[-1]['error']}; fix it, then `hub-import replay --failed`"
    letters = [d for d in t.dead_letters if not d.get("unread")]
    if letters:
        return "dead_lettered", (f"dead-lettered: {letters[-1]['reason']} "
                                 f"(`hub-import replay --dead-letters --dry-run` says if it can go now)")
    claims = [r for r in t.ledger if r["state"] == CLAIMED]
    if claims:
        r = claims[-1]
        return "claimed", (f"claimed by flush {r.get('flush')} at {when(r.get('at'))}, its manifest not written; "
                           f"a later flush takes it over")
    landing = t.rules.get("landing_bucket")
    watched = "route" in t.rules and t.object and (not landing or t.uri.startswith(f"gs://{landing}/"))
    if t.storage.get("state") in (WAITING, AMBIGUOUS) and watched:
        return "waiting", (f"queued: {t.storage['says']}" + ("; it goes in on its own once the integration exists"
                                                           if t.storage["state"] == WAITING else ""))
    if watched and t.health.get("queued"):
        return "queued", f"queued; {t.health['queued']}"
    if not t.object:
        return "not_seen", "not seen yet: not in the bucket, and nothing of it reached the product"
    if landing and not t.uri.startswith(f"gs://{landing}/"):
        return "not_seen", (f"not seen yet: the trigger watches gs://{landing} only; "
                            f"`hub-import backfill` brings files from other buckets")
    last = f"; the last flush: {t.health['says']}" if t.health.get("says") else ""
    every = t.rules.get("sweep_every_minutes")
    sweep = (f"; if its event was lost, the sweep (every {every} min) queues it once it is older than the grace"
             if every else "")
    return "not_seen", ("not seen yet: no event or backfill reached the product, or it still waits in the queue "
                        f"(check the trigger, or run backfill){sweep}{last}")


def _deleted(r: dict, live: dict | None) -> str:
    """The verdict of an object whose ledger record says it left the bucket (ON_DELETE=delete)."""
    ids = r.get("asset_ids") or []
    said = (f"deleted from the Hub at {when(r.get('at'))}: the file left the bucket (asset {', '.join(ids)} "
            f"soft-deleted in project {r.get('project')})" if ids else
            f"left the bucket before it was imported; recorded at {when(r.get('at'))}, nothing of it reached the Hub"
            if r.get("note") == "never in the Hub" else
            f"left the bucket; recorded deleted at {when(r.get('at'))}, the Hub holding no asset of it then")
    if live and int(live["generation"]) > int(r.get("deleted_generation") or 0):
        said += f"; uploaded again since (generation {live['generation']}), not imported yet"
    return said


def render(t: Trace) -> str:
    """The trace as one screen of text, the verdict last."""
    o, route = t.object, t.rules.get("route")
    lines = [t.uri]
    lines += _block("object", [f"generation {o['generation']}, {o['size']} bytes, {o['content_type'] or '?'}, "
                               f"created {when(o['created'])}"] if o else [], "deleted from the bucket (or never there)")
    lines += _block("rules", [(f"route: project {route['project']}, storage {route['storage']}, batches "
                               f"{', '.join(route['batches']) or '-'}, priority {route['priority']}" if route
                               else f"skipped: {t.rules['skipped']}") + f"  (judged by {t.rules['judged_by']})"], "")
    if t.storage and t.storage.get("state") != "found":
        lines += _block("storage", [t.storage["says"]], "")
    if t.swept:
        lines += _block("came in", [f"by the sweep, {when(t.swept.get('at'))} (generation {t.swept.get('generation')}): "
                                    "its event never came"], "")
    lines += _block("ledger", [f"per {r['key']}: deleted (generation {r.get('deleted_generation')} left the bucket), "
                               f"assets {', '.join(r.get('asset_ids') or []) or 'none'}, flush {r.get('flush')}, "
                               f"{when(r.get('at'))}" if r["state"] == DELETED else
                               f"per {r['key']}: {'sent (its manifest is marked sent)' if r['manifest_sent'] else r['state']}"
                               f" in {r.get('manifest') or '-'}, flush {r.get('flush')}, {when(r.get('at'))}"
                               for r in t.ledger], "no record")
    lines += _block("manifests", [f"{m['path']}  {m['label']}, {m['attempts']} attempt(s), {m['assets']} asset(s), "
                                  f"project {m['project']}, written {when(m['created_at'])}"
                                  + (f"; {m['error']}" if m.get("error") else "")
                                  + (f"; replayed as {m['replayed_as']}" if m.get("replayed_as") else "")
                                  for m in t.manifests], "none")
    lines += _block("dead letters", [d["reason"] + (f"  (generation {d['generation']}, {when(d['published'])})"
                                                    if d.get("published") else "") for d in t.dead_letters], "none")
    hub = [t.hub["error"]] if "error" in t.hub else []
    for a in t.hub.get("asked", []):
        rows = [c for c in t.hub["copies"] if (c["project"], c["externalId"]) == (a["project"], a["externalId"])]
        hub.append(f"project {a['project']}, externalId {a['externalId']!r}: {len(rows)} asset(s)"
                   + ("" if a["complete"] else f" in the first {HUB_PAGES} pages (the Hub's filter does not filter)"))
        hub += [f"  {c['id']}  created {when(c['createdAt']) if c['createdAt'] else '?'}"
                + ("" if c["ours"] else f"  (another file's: {c['data']})") for c in rows]
    lines += _block("hub", hub, "")
    return lines_for_terminal(lines + [f"verdict: {t.verdict}"])


def _block(title: str, rows: list[str], empty: str) -> list[str]:
    """`rows` under a title in the left column (`empty` alone when there are none)."""
    rows = rows or [empty]
    return [f"  {title:<13}{rows[0]}"] + [" " * 15 + row for row in rows[1:]]
