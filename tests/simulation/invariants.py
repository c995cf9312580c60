"""What must hold once a history has come to rest. Each check returns readable violations, each
named by its invariant, so that a failing history shrinks to one that breaks the same one.

| invariant | what |
|---|---|
| rest | the system comes to rest (no events, messages, pending manifests or markers, heal checks, result markers, lease) |
| exactly-once | every live eligible name has exactly one asset (each generation, ON_OVERWRITE=import), in its route's project, with its batches and contextData; no externalId twice (but under list_data=false, copies heal logged as left and assets a deletion told as `leftIds`, unprovable, may stay, and a hand-made asset under a file's externalId is taken for the file's) |
| deletions | a name deleted under ON_DELETE=delete has no asset (but one the listing cannot show to be ours, list_data=false, stays when its result says left_unproven) |
| handmade | an asset the product did not make is never touched |
| told-once | every settled manifest and every deletion is told on the results topic |
| result-bytes | a result_id always carries the same bytes |
| nothing-silent | every rejected file (failed manifest) and every poison message has a dead letter; at rest no failed manifest owes one any more (the sweep of `owed/` markers sent it, whether or not its message came back) |
| key | the API key is in no stored byte, log line, result or dead letter |
| audit | `audit` reports nothing missing that should be there, and no duplicate of ours |
| held-kept | at rest, every deletion held past MAX_DELETIONS_PER_HOUR (and not carried out since by a later deletion) still has its asset in the Hub; once a person approves them and the system is at rest again, none is held (and `deletions` judges them carried out) |
| deleted-twice | no DELETE names an asset a deletion removed already |

The sweep's own (sweep-grace, sweep-reads, sweep-rest) are in sweeps.py.
"""
from __future__ import annotations

import base64
import json
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import quote

from .world import API_KEY, ROUTES, World

KEY_WINDOW = 10  # any this many consecutive characters of the key count as a leak


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.detail}"


def check(world: World, busy: list[str]) -> list[Violation]:
    out: list[Violation] = []
    if busy:
        out.append(Violation("rest", f"still moving after the rest rounds: {busy[:5]}"))
    out += _stuck(world)
    out += _hub_side(world)
    out += _told(world)
    out += _silent(world)
    out += _key(world)
    out += _audit(world)
    out += [Violation("held-kept", f"the deletion of {b['object']} is still held at rest after approval")
            for b in world.held()]
    out += [Violation("deleted-twice", f"asset {i} was named by a DELETE after a deletion removed it")
            for i in world.hub.adapter.deleted_again]
    return out


def held_kept(world: World) -> list[Violation]:
    """At rest, before a person approves: each held deletion's asset is still in the Hub, unless the
    ledger records the object deleted since (a later deletion carried it out: approve finds it done)."""
    from hub_import.core.objects import ObjectRef
    from hub_import.state.ledger import Ledger

    ledger = Ledger(world.store, world.settings.ledger_prefix, world.settings.each_generation)
    live = {r["externalId"] for rows in world.hub.all_assets().values() for r in rows
            if not r.get("deleted") and r["_id"] not in world.handmade}
    out = []
    for body in world.held():
        doc = ledger.read(ObjectRef(body["bucket"], body["name"], int(body["generation"])))
        if doc is None or doc.body.get("state") in ("deleted", "deleting"):
            continue
        if doc.body.get("external_id") not in live:
            out.append(Violation("held-kept", f"the deletion of {body['object']} is held, but its asset "
                                 f"{doc.body.get('external_id')!r} left the Hub"))
    return out


def _stuck(world: World) -> list[Violation]:
    """A manifest still pending at rest (busy() sees pending markers; one without its marker is
    found by no flush: it would stay pending for good)."""
    prefix = world.settings.manifest_prefix
    out = []
    for path in sorted(world.store.bucket.objects):
        if path.startswith(prefix) and path.endswith(".state.json") and "/pending/" not in path:
            doc = world.store.read(path)
            if doc and doc.body.get("state") == "pending":
                out.append(Violation("rest", f"manifest {path} is still pending at rest"))
    return out


def _route(name: str) -> tuple[str, str | None]:
    for r in ROUTES:
        if name.startswith(r["prefix"]):
            return r["project"], (r.get("batches") or [None])[0]
    return "proj", "incoming"


def expected(world: World) -> tuple[dict[str, str], set[str]]:
    """externalId -> name of what must be in the Hub once; externalIds that must not be there."""
    present, absent = {}, set()
    each = world.settings.each_generation
    by_name = defaultdict(list)
    for u in world.uploads:
        by_name[u.name].append(u)
    for name, uploads in by_name.items():
        if name.startswith("x/"):
            continue  # its route's storage does not exist: rejected, told by a dead letter
        gone = [d for d in world.deletions if d.name == name]
        last_gone = max((d.generation for d in gone), default=0)
        live = world.landing.objects.get(name)
        if live is not None:
            cycle = [u for u in uploads if u.generation > last_gone]
            latest = max(cycle, key=lambda u: u.generation)
            if each:
                if latest.eligible:
                    present[f"{name}#{latest.generation}"] = name
            elif any(u.eligible and (not u.lost or u is latest) for u in cycle):
                present[name] = name
        elif gone and max(gone, key=lambda d: d.generation).follows:
            d = max(gone, key=lambda d: d.generation)
            absent.add(f"{name}#{d.generation}" if each else name)
    return present, absent


def _hub_side(world: World) -> list[Violation]:
    out = []
    present, absent = expected(world)
    ours: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    stand_ins: set[str] = set()  # externalIds a live hand-made asset carries
    for project, rows in world.hub.all_assets().items():
        for row in rows:
            if row["_id"] in world.handmade:
                if row.get("deleted"):
                    out.append(Violation("handmade", f"hand-made asset {row['_id']} ({row['externalId']}) was deleted"))
                else:
                    stand_ins.add(row["externalId"])
                continue
            if not row.get("deleted"):
                ours[row["externalId"]].append((project, row))
    batch_ids = {(p, b["name"]): b["_id"] for p, proj in world.hub.state.projects.items() for b in proj["batches"]}
    left, unproven = _left_by_heal(world), _left_unproven(world)
    for external_id, ids in _left_by_deletions(world).items():
        left[external_id] |= ids
    for external_id, rows in sorted(ours.items()):
        # rows without data (list_data=false): heal leaves copies it cannot prove ours, and a deletion
        # the asset (told left_unproven); the name uploaded again then goes in beside it, by design
        if len(rows) > 1 and not (world.guesses.get("list_data") is False
                                  and len({r["_id"] for _, r in rows} - left.get(external_id, set())) <= 1):
            out.append(Violation("exactly-once", f"{external_id!r} is in the Hub {len(rows)} times: "
                                 f"{[r['_id'] for _, r in rows]}"))
    for external_id, name in sorted(present.items()):
        rows = ours.get(external_id, [])
        if not rows and world.guesses.get("list_data") is False and external_id in stand_ins:
            continue  # rows without data: a hand-made asset under its externalId is taken for it (hub_quirks.py)
        if not rows:
            out.append(Violation("exactly-once", f"{external_id!r} (live, eligible) is not in the Hub"))
            continue
        project, row = rows[0]
        want_project, batch = _route(name)
        url = "https://storage.googleapis.com/landing/" + quote(name, safe="/")
        contexts = [{"camera": u.metadata["camera"]} if "camera" in u.metadata else None
                    for u in world.uploads if u.name == name]
        if project != want_project or row["data"] != url:
            out.append(Violation("exactly-once", f"{external_id!r} is in project {project} with {row['data']}, "
                                 f"expected {want_project} with {url}"))
        if batch and row.get("batches") != [batch_ids.get((want_project, batch))]:
            out.append(Violation("exactly-once", f"{external_id!r} has batches {row.get('batches')}, expected {batch}"))
        if row.get("contextData") not in contexts:
            out.append(Violation("exactly-once", f"{external_id!r} has contextData {row.get('contextData')}, "
                                 f"expected one of {contexts}"))
    for external_id in sorted(absent):
        if ours.get(external_id) and not (world.guesses.get("list_data") is False and external_id in unproven):
            out.append(Violation("deletions", f"{external_id!r} was deleted from the bucket under ON_DELETE=delete "
                                 f"but its asset {[r['_id'] for _, r in ours[external_id]]} stays"))
    return out


def _messages(world: World, topic: str):
    return world.pubsub.topics.get(topic, [])


def _left_by_heal(world: World) -> dict[str, set[str]]:
    """externalId -> the asset ids heal logged as copies it cannot prove ours (rows without data), left."""
    out: dict[str, set[str]] = defaultdict(set)
    for message, fields in world.log.records:
        if "cannot be proven ours" in message and fields.get("external_id"):
            out[fields["external_id"]].update(fields.get("left") or [])
    return out


def _left_by_deletions(world: World) -> dict[str, set[str]]:
    """externalId -> the asset ids deletion results named as left (`leftIds`: rows without data, not
    proven ours): a name uploaded again after such a deletion is imported anew beside them, by design."""
    out: dict[str, set[str]] = defaultdict(set)
    for m in _messages(world, world.settings.results_topic_path):
        body = json.loads(m.data)
        if body.get("kind") == "delete":
            for row in body.get("assets", []):
                out[row.get("externalId")].update(row.get("leftIds") or [])
    return out


def _left_unproven(world: World) -> set[str]:
    """externalIds a deletion result told `left_unproven` (rows without data: not proven ours, left by design)."""
    out = set()
    for m in _messages(world, world.settings.results_topic_path):
        body = json.loads(m.data)
        if body.get("kind") == "delete":
            out.update(row.get("externalId") for row in body.get("assets", []) if row.get("outcome") == "left_unproven")
    return out


def _told(world: World) -> list[Violation]:
    out = []
    results = _messages(world, world.settings.results_topic_path)
    by_id: dict[str, set[bytes]] = defaultdict(set)
    told_assets: set[str] = set()
    for m in results:
        by_id[m.attributes.get("result_id", "")].add(m.data)
        body = json.loads(m.data)
        if body.get("kind") == "delete":
            for row in body.get("assets", []):
                told_assets.update(row.get("assetIds") or [])
    for result_id, bodies in sorted(by_id.items()):
        if len(bodies) > 1:
            out.append(Violation("result-bytes", f"result {result_id} was told with {len(bodies)} different bodies"))
    prefix = world.settings.manifest_prefix
    for path in sorted(world.store.bucket.objects):
        if path.startswith(prefix) and path.endswith(".state.json") and "/pending/" not in path:
            doc = world.store.read(path)
            state = doc.body.get("state") if doc else None
            if state in ("sent", "failed"):
                result_id = path.removesuffix(".state.json") + ".json#" + state
                if result_id not in by_id:
                    out.append(Violation("told-once", f"manifest {result_id} settled but was never told"))
    gone = {r["_id"] for rows in world.hub.all_assets().values() for r in rows if r.get("deleted")}
    for asset_id, why in sorted(world.hub.deleted_as.items()):
        if why == "deletion" and asset_id in gone and asset_id not in told_assets:
            out.append(Violation("told-once", f"asset {asset_id} was deleted as a deletion but no result names it"))
    return out


def _dead_letter_text(m) -> str:
    text = m.data.decode("utf-8", "replace") + json.dumps(m.attributes)
    try:
        body = json.loads(m.data)
        if isinstance(body, dict) and "data_b64" in body:
            text += base64.b64decode(body["data_b64"]).decode("utf-8", "replace")
    except ValueError:
        pass
    return text


def _silent(world: World) -> list[Violation]:
    out = []
    letters = [_dead_letter_text(m) for m in _messages(world, world.settings.dead_letter_topic_path)]
    prefix = world.settings.manifest_prefix
    for path in sorted(world.store.bucket.objects):
        if path.startswith(prefix) and path.endswith("-failed.state.json"):
            doc = world.store.read(path)
            if not doc or doc.body.get("state") != "failed" or doc.body.get("replayed_as"):
                continue
            manifest = world.store.read(path.removesuffix(".state.json") + ".json")
            if doc.body.get("dead_letters_unconfirmed"):
                out.append(Violation("nothing-silent", f"{path} still owes dead letters at rest: "
                                     f"{doc.body['dead_letters_unconfirmed']}"))
            for asset in manifest.body if manifest else []:
                name = asset["data"].split("/landing/", 1)[-1]
                if not any(name in text or asset["externalId"] in text for text in letters):
                    out.append(Violation("nothing-silent", f"{asset['externalId']!r} was rejected ({path}) "
                                         "but has no dead letter"))
    for text in world.poison_texts:
        if not any(text in letter for letter in letters):
            out.append(Violation("nothing-silent", f"poison message {text!r} has no dead letter"))
    return out


def _leaks(text: str) -> str | None:
    for i in range(len(API_KEY) - KEY_WINDOW + 1):
        if API_KEY[i:i + KEY_WINDOW] in text:
            return API_KEY[i:i + KEY_WINDOW]
    return None


def _key(world: World) -> list[Violation]:
    out = []
    places = [(f"gs://state/{n}", v.data.decode("utf-8", "replace")) for n, v in world.store.bucket.objects.items()]
    places += [(f"log line {i}", line) for i, line in enumerate(world.log.lines)]
    for topic, messages in world.pubsub.topics.items():
        places += [(f"{topic.rsplit('/', 1)[-1]} message {m.id}", _dead_letter_text(m)) for m in messages]
    for where, text in places:
        piece = _leaks(text)
        if piece:
            at = text.find(piece)
            out.append(Violation("key", f"the API key ({piece!r}...) is in {where}: ...{text[max(0, at - 60):at + 20]!r}"))
    return out


def _audit(world: World) -> list[Violation]:
    """`audit` agrees with the Hub: what it calls missing is not live there, what it calls
    duplicated is live there more than once."""
    out = []
    for report in world.audit(fix=False):
        live = defaultdict(int)
        for row in world.hub.live(report.project):
            live[row["externalId"]] += 1
        for external_id in report.missing:
            if live[external_id]:
                out.append(Violation("audit", f"audit says {external_id!r} is missing in {report.project}; "
                                     f"the Hub holds it"))
        for external_id, n in report.duplicated.items():
            if live[external_id] != n:
                out.append(Violation("audit", f"audit says {external_id!r} is in {report.project} {n} times; "
                                     f"the Hub holds it {live[external_id]} times"))
    return out
