"""`trace gs://BUCKET/NAME`: one file's whole story, ending in one verdict.

Reads, and changes nothing: the object in GCS (if it is still there), what today's rules do with
it (`routes.decide`), its ledger record(s), every manifest that carried it (each manifest state
written since `since`, read once), the dead letters that name it (peeked, then handed straight
back), and the assets the Hub holds under its externalId. The Hub's externalId filter may match
more than the value (a substring, or everything), so its rows are matched exactly here.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from .assets import external_id, object_url
from .config import Settings
from .ledger import CLAIMED, DELETED, Ledger
from .manifests import FAILED, PENDING, SENT, state_path
from .objects import ObjectRef
from .routes import decide

HUB_WAIT_S = 20  # a person is waiting: a Hub that does not answer by then is reported as such
HUB_PAGES = 20  # per externalId: more means the Hub's filter does not filter; say so, do not read it all
DEAD_LETTERS_READ = 5000


@dataclass
class Trace:
    uri: str
    object: dict | None = None  # GCS metadata; None when the object is gone
    rules: dict = field(default_factory=dict)  # {"route": {...}} or {"skipped": reason}; "judged_by"
    ledger: list[dict] = field(default_factory=list)
    manifests: list[dict] = field(default_factory=list)  # oldest first
    dead_letters: list[dict] = field(default_factory=list)
    hub: dict = field(default_factory=dict)  # {"copies": [...], "asked": [...]} or {"error": why}
    outcome: str = ""
    verdict: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def parse_uri(uri: str) -> tuple[str, str]:
    """gs://BUCKET/NAME -> (bucket, name); ValueError saying what is expected."""
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    if not uri.startswith("gs://") or not bucket or not name:
        raise ValueError(f"expected gs://BUCKET/NAME (one object), got {uri!r}")
    return bucket, name


def trace(settings: Settings, uri: str, *, storage, store, subscriber, hub, since: datetime | None = None) -> Trace:
    """Everything the product knows of the object at `uri`. `store` is the state bucket's JsonStore;
    `hub` a HubClient, or None when there is no API key (the Hub part then says so)."""
    bucket, name = parse_uri(uri)
    t = Trace(uri)
    blob = storage.bucket(bucket).get_blob(name)
    current = _ref(blob) if blob is not None else None
    if current:
        t.object = {"generation": current.generation, "size": current.size, "content_type": current.content_type,
                    "created": current.time_created, "updated": blob.updated.isoformat() if blob.updated else None}
    t.manifests = _manifests(settings, store, bucket, name, since)
    t.dead_letters = _dead_letters(settings, subscriber, bucket, name)
    known = [r for r in [current] + [m["ref"] for m in t.manifests + t.dead_letters] if r]
    t.ledger = _records(settings, store, bucket, name, {r.generation for r in known})
    older = {r["manifest"] for r in t.ledger if r.get("manifest")} - {m["path"] for m in t.manifests}
    t.manifests += [m for path in sorted(older) for m in _manifests(settings, store, bucket, name, None, only=path)]
    t.manifests.sort(key=lambda m: float(m["created_at"] or 0))
    # Judged as it is, else as last seen, else by its name alone (of a size that no size rule skips).
    latest = current or max(known, key=lambda r: r.generation, default=None) or ObjectRef(bucket, name, 0, size=1)
    decision = decide(latest, settings)
    t.rules = {"route": decision.destination.to_json()} if decision.destination else {"skipped": decision.reason}
    t.rules["judged_by"] = "the object" if current else "its last known version" if known else "its name alone"
    t.rules["landing_bucket"] = settings.landing_bucket  # the one bucket the trigger watches
    projects = {m["project"] for m in t.manifests} | {d.project for d in [decision.destination] if d}
    if not projects:  # skipped today, and never carried: it may still have gone in under older rules
        projects = {settings.default.project if settings.default else settings.routes[0].destination.project}
    refs = known or [latest]
    ids = {external_id(r, settings.external_id_template) for r in refs}
    ids |= {m["external_id"] for m in t.manifests + t.ledger if m.get("external_id")}
    t.hub = _hub(hub, sorted(projects), sorted(ids), {object_url(r, settings.url_template) for r in refs})
    t.outcome, t.verdict = verdict(t)
    for row in t.manifests + t.dead_letters:
        row.pop("ref", None)
    return t


def _ref(blob) -> ObjectRef:
    return ObjectRef.from_blob(blob)


def _manifests(settings, store, bucket: str, name: str, since, only: str | None = None) -> list[dict]:
    """Every manifest whose objects include this one (or only the manifest `only`), oldest first."""
    prefix = settings.manifest_prefix
    if only:
        paths = [state_path(only)]
    else:
        start = prefix + since.strftime("%Y/%m/%d") if since else prefix
        skip = (prefix + "pending/", prefix + "verify/")
        paths = [p for p in store.list(prefix) if p.endswith(".state.json") and p >= start and not p.startswith(skip)]
    with ThreadPoolExecutor(16) as pool:
        states = list(pool.map(store.read, paths))
    found = []
    for path, doc in zip(paths, states):
        body = doc.body if doc else {}
        objects = body.get("objects") or []
        at = [i for i, o in enumerate(objects) if o.get("bucket") == bucket and o.get("name") == name]
        if not at:
            continue
        manifest = path.removesuffix(".state.json") + ".json"
        assets = store.read(manifest)
        asset = assets.body[at[-1]] if assets and len(assets.body) > at[-1] else {}
        state = body.get("state")
        label = "pending, settling" if state == PENDING and body.get("uncertain_since") is not None else \
            "failed, replayed" if state == FAILED and body.get("replayed_as") else state
        kept = ("attempts", "error", "replayed_as", "created_at", "updated_at", "uncertain_since", "not_before",
                "lease_until", "owner")
        found.append({"path": manifest, "state": state, "label": label, "project": body["destination"]["project"],
                      "generation": objects[at[-1]].get("generation"), "external_id": asset.get("externalId"),
                      "assets": len(objects), **{k: body.get(k) for k in kept},
                      "ref": ObjectRef.from_json(objects[at[-1]])})
    return found


def _records(settings, store, bucket: str, name: str, generations: set[int]) -> list[dict]:
    """The ledger records of this object: the one per name, and one per known generation (the
    key when ON_OVERWRITE=import), with whether each record's manifest is marked sent."""
    per_name, per_generation = Ledger(store, settings.ledger_prefix, False), Ledger(store, settings.ledger_prefix, True)
    keys = [("object", per_name, ObjectRef(bucket, name, 0))]
    keys += [(f"generation {g}", per_generation, ObjectRef(bucket, name, g)) for g in sorted(generations)]
    records = []
    for kind, ledger, ref in keys:
        doc = ledger.read(ref)
        if doc is not None:
            body = doc.body
            records.append({"key": kind, "path": ledger.path(ref), **body,
                            "manifest_sent": ledger.is_sent(body.get("manifest", ""))})
    return records


def _dead_letters(settings, subscriber, bucket: str, name: str) -> list[dict]:
    """The dead letters naming this object, read off the dead-letter subscription and handed back."""
    from google.api_core import exceptions

    from .deadletters import pull, release, subscription_path, unwrap
    from .queue import MessageError, decode_message

    subscription = subscription_path(settings)
    seen, held, found = set(), [], []
    try:
        while len(seen) < DEAD_LETTERS_READ:
            pulled = pull(subscriber, subscription, 1000, wait_s=2.0)
            held += [r.ack_id for r in pulled]
            fresh = [r for r in pulled if r.message.message_id not in seen]
            if not fresh:
                break
            for r in fresh:
                seen.add(r.message.message_id)
                letter = unwrap(r)
                a = letter.attributes
                try:
                    ref = decode_message(letter.data).ref
                except MessageError:
                    ref = None
                if (a.get("bucket"), a.get("name")) == (bucket, name) or (ref and (ref.bucket, ref.name) == (bucket, name)):
                    found.append({"reason": letter.reason, "message_id": letter.message_id,
                                  "generation": ref.generation if ref else a.get("generation"),
                                  "published": r.message.publish_time.isoformat(), "ref": ref})
    except exceptions.NotFound:
        return [{"reason": f"(not read: no subscription {subscription})", "ref": None, "unread": True}]
    finally:
        release(subscriber, subscription, held)
    return found


def _hub(hub, projects: list[str], ids: list[str], urls: set[str]) -> dict:
    """The Hub's assets under each externalId in each project, matched exactly."""
    from .hub import HubError

    if hub is None:
        return {"error": "not asked: HUB_API_KEY is not set"}
    copies, asked = {}, []
    deadline = time.monotonic() + HUB_WAIT_S
    try:
        for project in projects:
            for wanted in ids:
                page, seen, complete = 1, 0, True
                while True:
                    rows, total = hub.list_assets(project, page=page, filters={"externalId": wanted},
                                                  deadline=deadline)
                    for row in rows:
                        if row.get("externalId") == wanted:
                            copies[str(row.get("_id"))] = {"id": str(row.get("_id")), "project": project,
                                                           "externalId": wanted, "createdAt": row.get("createdAt"),
                                                           "data": row.get("data"), "ours": row.get("data") in urls}
                    seen += len(rows)
                    if not rows or seen >= total:
                        break
                    if page >= HUB_PAGES:
                        complete = False
                        break
                    page += 1
                asked.append({"project": project, "externalId": wanted, "complete": complete})
    except HubError as exc:
        return {"error": f"could not read the Hub: {exc}", "copies": list(copies.values()), "asked": asked}
    return {"copies": sorted(copies.values(), key=lambda c: str(c["createdAt"])), "asked": asked}


def when(t) -> str:
    """A time (epoch seconds or an ISO string) as 'YYYY-MM-DD HH:MM:SS UTC'; other text as it is."""
    try:
        moment = datetime.fromtimestamp(float(t), timezone.utc) if isinstance(t, (int, float)) else \
            datetime.fromisoformat(str(t).replace("Z", "+00:00"))
    except (TypeError, ValueError, OverflowError):
        return str(t)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def verdict(t: Trace, now: float | None = None) -> tuple[str, str]:
    """(outcome, the one line that says it) from the parts of `t`; the first that holds wins."""
    now = time.time() if now is None else now
    copies = t.hub.get("copies") or []
    # A pending manifest still lists an object that moved on (its record names the new manifest).
    owned = {r.get("manifest") for r in t.ledger}
    pending = [m for m in t.manifests if m["state"] == PENDING and (not t.ledger or m["path"] in owned)]
    if len(copies) > 1:
        return "duplicated", f"in the Hub {len(copies)} times: run `python -m hub_import audit --fix`"
    if copies:
        c = copies[0]
        since = f" since {when(c['createdAt'])}" if c.get("createdAt") else ""
        gone = "" if t.object else "; the file is gone from the bucket"
        still = f"; pending manifest {pending[-1]['path']} learns it when it settles" if pending else ""
        return "in_hub", f"in the Hub once{since} (asset {c['id']}){gone}{still}"
    gone = sorted((r for r in t.ledger if r.get("state") == DELETED), key=lambda r: float(r.get("at") or 0))
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
        return "failed", f"failed: {failed[-1]['error']}; fix it, then `python -m hub_import replay --failed`"
    letters = [d for d in t.dead_letters if not d.get("unread")]
    if letters:
        return "dead_lettered", (f"dead-lettered: {letters[-1]['reason']} "
                                 f"(`python -m hub_import replay --dead-letters --dry-run` says if it can go now)")
    claims = [r for r in t.ledger if r["state"] == CLAIMED]
    if claims:
        r = claims[-1]
        return "claimed", (f"claimed by flush {r.get('flush')} at {when(r.get('at'))}, its manifest not written; "
                           f"a later flush takes it over")
    if not t.object:
        return "not_seen", "not seen yet: not in the bucket, and nothing of it reached the product"
    landing = t.rules.get("landing_bucket")
    if landing and not t.uri.startswith(f"gs://{landing}/"):
        return "not_seen", (f"not seen yet: the trigger watches gs://{landing} only; "
                            f"`python -m hub_import backfill` brings files from other buckets")
    return "not_seen", ("not seen yet: no event or backfill reached the product, or it still waits in the queue "
                        "(check the trigger, or run backfill)")


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
    return "\n".join(lines + [f"verdict: {t.verdict}"])


def _block(title: str, rows: list[str], empty: str) -> list[str]:
    """`rows` under a title in the left column (`empty` alone when there are none)."""
    rows = rows or [empty]
    return [f"  {title:<13}{rows[0]}"] + [" " * 15 + row for row in rows[1:]]
