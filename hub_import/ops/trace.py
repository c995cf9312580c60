"""`trace gs://BUCKET/NAME`: one file's whole story, ending in one verdict.

Reads, and changes nothing: the object in GCS (if it is still there), what today's rules do with
it (`routes.decide`), what the flush last found of the Hub storage integration (HUB_STORAGE_ID
empty), its ledger record(s) (under ON_OVERWRITE=import, when the object is gone, those of the
generations the ledger's name index lists), every manifest that carried it (each manifest state
written since `since`, read once), the dead letters that name it (peeked, then handed straight
back), and the assets the Hub holds under its externalId. The Hub's externalId filter may match
more than the value (a substring, or everything), so its rows are matched exactly here.
"""
from __future__ import annotations

from hub_import.core import clock
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from hub_import.core.assets import external_id, object_url
from hub_import.core.bucket_storage import FOUND
from hub_import.core.decisions import decide
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import Settings
from hub_import.state.ledger import Ledger
from hub_import.state.manifests import FAILED, PENDING, state_path
from hub_import.state import health
from hub_import.state.name_index import NameIndex
from hub_import.state.sweep_state import found_by_sweep

from .health_view import judge, queued_reason
from .deletions import held_for
from .storages import last_found
from .trace_report import HUB_PAGES, Trace, verdict

HUB_WAIT_S = 20  # a person is waiting: a Hub that does not answer by then is reported as such
DEAD_LETTERS_READ = 5000


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
    listed = []  # gone, under ON_OVERWRITE=import: the other generations the ledger recorded of it
    if current is None and settings.each_generation:
        seen = {r.generation for r in known}
        listed = [ObjectRef(bucket, name, g) for g in NameIndex(store, settings.ledger_prefix).generations(bucket, name)
                  if g not in seen]
    t.ledger = _records(settings, store, bucket, name, {r.generation for r in known + listed})
    t.held = held_for(settings, store, bucket, name, {r.generation for r in known + listed})
    older = {r["manifest"] for r in t.ledger if r.get("manifest")} - {m["path"] for m in t.manifests}
    t.manifests += [m for path in sorted(older) for m in _manifests(settings, store, bucket, name, None, only=path)]
    t.manifests.sort(key=lambda m: float(m["created_at"] or 0))
    # Judged as it is, else as last seen, else by its name alone (of a size that no size rule skips).
    latest = current or max(known, key=lambda r: r.generation, default=None) or ObjectRef(bucket, name, 0, size=1)
    decision = decide(latest, settings)
    t.rules = {"route": decision.destination.to_json()} if decision.destination else {"skipped": decision.reason}
    t.rules["judged_by"] = "the object" if current else "its last known version" if known else "its name alone"
    t.rules["landing_bucket"] = settings.landing_bucket  # the one bucket the trigger watches
    t.rules["sweep_every_minutes"] = settings.sweep_every_minutes  # and the sweep lists (0: no sweep)
    t.storage = last_found(settings, store) or {}
    judged = judge(health.read(store, settings.ledger_prefix), settings)
    t.health = {**judged.to_json(), "queued": queued_reason(judged),
                "last_flush_at": (judged.record or {}).get("at")}
    t.swept = found_by_sweep(settings, store, bucket, name) or {}  # the sweep queued it: its event was lost
    if decision.destination and decision.destination.storage is None and t.storage.get("state") == FOUND:
        t.rules["route"]["storage"] = f"{t.storage['ids'][0]} (found in the Hub)"
    projects = {m["project"] for m in t.manifests} | {d.project for d in [decision.destination] if d}
    if not projects:  # skipped today, and never carried: it may still have gone in under older rules
        projects = {settings.default.project if settings.default else settings.routes[0].destination.project}
    refs = known + listed or [latest]
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

    from hub_import.core.messages import MessageError, decode_message
    from hub_import.flush.dead_letters import unwrap

    from .dead_letter_inbox import pull, release, subscription_path

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
    from hub_import.hub import HubError

    if hub is None:
        return {"error": "not asked: HUB_API_KEY is not set"}
    copies, asked = {}, []
    deadline = clock.monotonic() + HUB_WAIT_S
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
