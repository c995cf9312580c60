"""Operations agree: at rest, what `status` and `trace` (their in-process functions, as the CLI
calls them: ops/status.py `status`, ops/trace.py `trace` with trace_report.py's verdict) say is
held against the world. Only what those functions claim to report is asked of them.

| invariant | what |
|---|---|
| status | no pending manifest and no oldest pending at rest; the failed manifests it counts are the failed ones (not replayed) in the state bucket, and every live rejected file is among its failed assets; the dead letters it says are owed are those the failed manifests name; its dead-letter backlog is the dead-letter topic's every message (nobody reads them off), and its reasons add up to it |
| trace | every live eligible file: `in_hub` (once); every file deleted under ON_DELETE=delete: `deleted`; every live rejected file: `failed` or `dead_lettered` |
"""
from __future__ import annotations

from collections import Counter

from hub_import.core.objects import ObjectRef
from hub_import.ops.status import status
from hub_import.ops.trace import trace
from hub_import.state.ledger import Ledger

from .invariants import Violation, _left_unproven, expected
from .world import World


def check(world: World) -> list[Violation]:
    return _status(world) + _traces(world)


def _failed_states(world: World) -> list[str]:
    prefix = world.settings.manifest_prefix
    out = []
    for path in sorted(world.store.bucket.objects):
        if path.startswith(prefix) and path.endswith(".state.json") and "/pending/" not in path:
            doc = world.store.read(path)
            if doc and doc.body.get("state") == "failed" and not doc.body.get("replayed_as"):
                out.append(path)
    return out


def _rejected_live(world: World) -> list[str]:
    """Live files under x/ (a storage the Hub lacks) whose live generation was eligible and reached the product."""
    out = []
    # under list_data=false a hand-made row under its externalId cannot be told from ours: the product
    # counts it found and sends nothing (by design), so nothing is rejected
    blind = {r["externalId"] for rows in world.hub.all_assets().values() for r in rows if r["_id"] in world.handmade} \
        if world.guesses.get("list_data") is False else set()
    for name, v in sorted(world.landing.objects.items()):
        if not name.startswith("x/") or name in blind:
            continue
        ups = [u for u in world.uploads if u.name == name and u.generation == v.generation]
        limit = world.settings.max_object_bytes  # today's rules: a file they skip is not rejected
        if ups and ups[0].eligible and not (limit and ups[0].size > limit):
            out.append(name)
    return out


def _excused(world: World, t, gone: set[str]) -> bool:
    """A verdict the judge cannot hold against trace: under `list_data=false` (rows without data: ours
    cannot be told from hand-made ones, and a deletion leaves them by design) one true of the Hub's
    live rows under the externalIds trace asked (in_hub: one each at most; duplicated: more under
    one); under ON_OVERWRITE=import, `in_hub` for an earlier generation's asset (not judged, as by
    `deletions`)."""
    if world.guesses.get("list_data") is False and t.outcome == "in_hub" and gone and gone <= _left_unproven(world):
        return True  # its deletion left the asset, unprovable, and said so (left_unproven): it is in the Hub
    if world.guesses.get("list_data") is False and t.outcome in ("in_hub", "duplicated"):
        asked = {a["externalId"] for a in t.hub.get("asked", [])}
        rows = Counter(r["externalId"] for p in world.hub.all_assets() for r in world.hub.live(p)
                       if r["externalId"] in asked)
        if rows and (t.outcome == "in_hub") == (max(rows.values()) == 1):
            return True
    return world.settings.each_generation and bool(gone) and t.outcome == "in_hub" and \
        not {c["externalId"] for c in t.hub.get("copies", [])} & gone


def _status(world: World) -> list[Violation]:
    out = []
    st = status(world.settings, world.store, world.pubsub)
    pending = {k: n for k, n in st.manifests.items() if k.startswith("pending")}
    if pending or st.oldest_pending:
        out.append(Violation("status", f"status shows pending manifests at rest: {pending} {st.oldest_pending}"))
    failed = _failed_states(world)
    if st.manifests.get("failed", 0) != len(failed):
        out.append(Violation("status", f"status counts {st.manifests.get('failed', 0)} failed manifests; "
                             f"the state bucket holds {len(failed)}"))
    shown = {a["object"] for a in st.failed_assets}
    for name in _rejected_live(world):
        if f"gs://landing/{name}" not in shown:
            out.append(Violation("status", f"status does not show rejected gs://landing/{name} among failed assets"))
    owed = sum(len(world.store.read(path).body.get("dead_letters_unconfirmed") or ()) for path in failed)
    if st.dead_letters_owed != owed:
        out.append(Violation("status", f"status says {st.dead_letters_owed} dead letters are owed; the failed "
                             f"manifests name {owed}"))
    letters = len(world.pubsub.topics.get(world.settings.dead_letter_topic_path, []))
    if st.dead_letter_backlog != letters:
        out.append(Violation("status", f"status says {st.dead_letter_backlog} dead letters wait; there are {letters}"))
    if sum(r["count"] for r in st.dead_letters) != letters:
        out.append(Violation("status", f"status's dead-letter reasons count {sum(r['count'] for r in st.dead_letters)}"
                             f", not {letters}"))
    return out


def _traces(world: World) -> list[Violation]:
    out = []
    present, absent = expected(world)
    names = sorted({u.name for u in world.uploads})
    hub = world.hub.client(world.settings, 0)
    each = world.settings.each_generation
    for name in names:
        t = trace(world.settings, f"gs://landing/{name}", storage=world.gcs, store=world.store,
                  subscriber=world.pubsub, hub=hub)
        live = name in world.landing.objects
        ids = {e for e, n in present.items() if n == name}
        gone = {e for e in absent if (e.rsplit("#", 1)[0] if each else e) == name}
        if ids:
            want = ("in_hub",)
        elif gone and not live:
            # a deleted generation that reached the product has a record saying so; one that never did
            # (its event lost, or skipped by a rule) may have none: trace then rightly says it never saw it
            last = max((d for d in world.deletions if d.name == name), key=lambda d: d.generation)
            seen = [u for u in world.uploads if u.generation == last.generation and u.eligible and not u.lost]
            want = ("deleted",) if seen else ("deleted", "not_seen", "skipped")
        elif name in _rejected_live(world):
            want = ("failed", "dead_lettered")
        else:
            continue
        if _excused(world, t, gone):
            continue
        if each and want == ("deleted",) and t.outcome == "not_seen":
            ledger = Ledger(world.store, world.settings.ledger_prefix, True)
            held = [g for g in sorted(gone) if ledger.read(ObjectRef("landing", name, int(g.rsplit("#", 1)[1])))]
            if held:
                out.append(Violation("trace-generation", f"trace of {name!r} says {t.outcome}: {t.verdict!r}; the "
                                     f"ledger holds a record of {held} (ON_OVERWRITE=import)"))
        elif t.outcome not in want:
            out.append(Violation("trace", f"trace of {name!r} says {t.outcome}: {t.verdict!r}; expected {want}"))
    return out
