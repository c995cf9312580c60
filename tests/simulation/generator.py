"""Seeded histories: a setup (settings and the Hub's guessed behaviours, chosen once) and a list
of steps, each a plain JSON list so that a history prints as a script and replays from it.

Steps (the first word says which):
  upload NAME SIZE META DELIVERY [BACKDATE] a file lands (overwrites a live one); its event is delivered
                                   now, delay (45 s), late (400 s), dup (twice) or lost
                                   (or fail); BACKDATE: its timeCreated that many s before it lands
  delete NAME DELIVERY             the file is deleted from the bucket
  flush SEED FAULTS CRASH_AT       a flush under FAULTS (kind -> rate, drawn with SEED), killed at
                                   its CRASH_AT-th fake call (null: not killed)
  hub SWITCHES                     the Hub's fault switches change (stand-in switches)
  wait SECONDS                     time passes (events fall due, leases and settle times run out)
  backfill CRASH_AT                `hub-import backfill gs://landing`
  replay                           `hub-import replay --failed`
  audit-fix                        `hub-import audit --fix`, every project
  poison TEXT                      a message that is not one of ours lands on the topic
  handmade NAME                    someone makes an asset by hand in the Hub
  settings ENV                     at rest, the operator changes settings (ON_DELETE, MAX_OBJECT_BYTES, ...)
  deletions approve                `hub-import deletions --approve` (the held deletions queued again)
  sweep SEED PAGE MAX FAULTS CRASH the sweep (ingest/sweep.py), bounded (sweep_steps.py); uploads'
                                   DELIVERY may also be `fail`: the ingest fails until Eventarc gives up
  together STEP STEP SEED DELAY STALL
                                   two steps truly at once (a flush, and a flush, replay, audit-fix or
                                   backfill; a sweep, and an upload, delete, flush or sweep) under a baton seeded with SEED (scheduler.py); the second
                                   starts DELAY seconds after the first; STALL [n, s]: the first's
                                   process freezes s seconds at its n-th call (null: never)
Events due are delivered after every step.

A share of histories (MIX_SHARE) follows a targeted mix instead (MIXES): a short plot of steps
that leads where a race is known to hide, each step kept or not and noise steps drawn in between,
and the setup it needs (ON_DELETE=delete, ...). Its name is in the setup (`mix`), for the report."""
from __future__ import annotations

import random

NAMES = ("a.png", "b.pdf", "cams/c.png", "x/d.pdf", "e f#1.png")
DELIVERY = ("now",) * 6 + ("delay", "late", "dup", "lost")
FAULT_PROFILES = (
    {},
    {"gcs.write": 0.15},
    {"gcs.write": 0.05, "gcs.read": 0.03},
    {"pubsub.publish": 0.5},
    {"pubsub.ack": 0.3, "pubsub.modack": 0.2},
    {"pubsub.pull": 0.2, "pubsub.publish": 0.2},
    {"hub.echo_key": 0.5},
    {"gcs.write": 0.05, "pubsub.publish": 0.2, "pubsub.ack": 0.1, "hub.echo_key": 0.2},
)
HUB_SWITCHES = (
    {"slow_commit": 1.0, "slow_commit_as": "504", "slow_commit_delay_s": 4.0},
    {"slow_commit": 0.5, "slow_commit_as": "reset", "slow_commit_delay_s": 400.0},  # lands after the settle time
    {"slow_commit": 0.5, "slow_commit_as": "timeout", "slow_commit_delay_s": 20.0, "slow_commit_hang_s": 65.0},
    {"drop_after_commit": 0.5},
    {"drop_after_commit": 0.5, "drop_hang_s": 60.0},
    {"drop_after_delete": 0.7},
    {"error_rate": 0.3},
    {"rate_429": 0.4},
    {"short_created": 0.6, "short_created_as": "fewer"},
    {"short_created": 0.6, "short_created_as": "status_fail"},
    {"odd_status": 0.4, "odd_status_code": 422},
    {"truncate_body": 0.5},
    {"max_body_bytes": 700},
    {"latency_ms": 2000},
)
GUESSES = {
    "list_order": ("honoured", "oldest_first", "newest_first"),
    "list_created_at": (True, False),
    "external_id_filter": ("exact", "exact", "substring", "ignored"),
    "delete_unknown_ids": ("ignored", "400"),
    "retry_after": (True, False),
}


MIX_SHARE = 0.3


def history(seed: int, length: int | None = None) -> dict:
    rng = random.Random(seed)
    setup = {
        "env": {"ON_OVERWRITE": rng.choice(("skip", "skip", "import")),
                "ON_DELETE": rng.choice(("delete", "delete", "ignore")),
                "MAX_OBJECT_BYTES": rng.choice(("0", "0", "1000")),
                "MAX_ASSETS_PER_MANIFEST": rng.choice(("1", "3", "500"))},
        "guesses": {k: rng.choice(v) for k, v in GUESSES.items()},
        "list_lag_s": rng.choice((0, 0, 30)),
    }
    if rng.random() < 0.2:
        setup["guesses"]["list_data"] = False  # listing rows without data: our assets cannot be proven ours
    if length is None and rng.random() < MIX_SHARE:
        name = rng.choice(sorted(MIXES))
        env, plot = MIXES[name](rng)
        setup["env"].update(env)
        setup["mix"] = name
        steps = []
        for planned in plot:
            if rng.random() < 0.3:
                steps.append(step(rng))
            if rng.random() < 0.92:
                steps.append(planned)
    else:
        steps = [step(rng) for _ in range(length or rng.randint(6, 22))]
    _guard(seed, setup, steps, length)
    from .sweep_steps import add as _sweeps  # the sweep's own die (sweep_steps.py)

    _sweeps(seed, setup, steps, length, NAMES, _any_flush)
    if setup["env"]["ON_OVERWRITE"] == "import":
        setup["env"]["EXTERNAL_ID_TEMPLATE"] = "{name}#{generation}"
    return {"seed": seed, "setup": setup, "steps": steps}


GUARD_SHARE = 0.3


def _guard(seed: int, setup: dict, steps: list, length: int | None) -> None:
    """The deletion guard in a share of histories: MAX_DELETIONS_PER_HOUR of 1 or 2, `deletions --approve`
    steps among the others, or (held-delete) a plot that holds deletions and approves them. Drawn from
    a die of its own, so that every other draw of a seed's history stays what it was."""
    rng = random.Random(seed * 7919 + 17)
    if rng.random() >= GUARD_SHARE:
        return
    setup["env"]["MAX_DELETIONS_PER_HOUR"] = rng.choice(("1", "2"))
    if length is None and "mix" not in setup and rng.random() < 0.4:
        setup["env"]["ON_DELETE"] = "delete"
        setup["mix"] = "held-delete"
        steps[:] = [s for planned in _held_plot(rng) for s in ([step(rng)] if rng.random() < 0.3 else []) + [planned]]
        return
    for _ in range(rng.randint(1, 2)):
        steps.insert(rng.randint(0, len(steps)), ["deletions", "approve"])


def _held_plot(rng: random.Random) -> list:
    """Four files deleted at once past a limit of 1 or 2 (some held), maybe one uploaded again while
    held, maybe an hour passing, then approved (maybe while a flush runs, maybe twice), and more."""
    names = rng.sample(NAMES[:3] + NAMES[4:], 4)
    plot = [*[["upload", n, rng.choice((100, 300)), {}, "now"] for n in names], _flush(rng),
            *[["delete", n, rng.choice(("now", "now", "dup"))] for n in names], _any_flush(rng)]
    if rng.random() < 0.5:
        plot.append(["upload", rng.choice(names), 200, {}, rng.choice(("now", "now", "lost"))])
    if rng.random() < 0.4:
        plot += [["wait", 3700], _any_flush(rng)]
    approve = ["deletions", "approve"]
    if rng.random() < 0.3:
        plot.append(["together", _any_flush(rng), approve, rng.randrange(1 << 30), rng.choice((0, 0.5, 5)), None])
    else:
        plot += [approve, _any_flush(rng)]
    if rng.random() < 0.3:
        plot += [approve, _flush(rng)]
    if rng.random() < 0.3:
        plot += [["delete", rng.choice(names), "now"], _any_flush(rng)]
    return plot + [_flush(rng)]


def _flush(rng: random.Random, faults: dict | None = None) -> list:
    return ["flush", rng.randrange(1 << 30), faults or {}, None]


def _mix_heal_reupload(rng: random.Random) -> tuple[dict, list]:
    """An import of unknown outcome (a slow commit, a drop after commit) settles; its file is deleted
    (a heal check that removes every copy created since is left); the same name uploaded again before
    the check runs (issue 23, bug 1)."""
    name, size = rng.choice(NAMES[:3] + NAMES[4:]), rng.choice((100, 300))
    fault = rng.choice(({"slow_commit": 1.0, "slow_commit_as": "504", "slow_commit_delay_s": 4.0},
                        {"slow_commit": 1.0, "slow_commit_as": "reset", "slow_commit_delay_s": 20.0},
                        {"drop_after_commit": 1.0}))
    off = {k: 0.0 for k in fault if k in ("slow_commit", "drop_after_commit")}
    return {"ON_DELETE": "delete", "ON_OVERWRITE": "skip"}, [
        ["hub", fault], ["upload", name, size, {}, "now"], _flush(rng), ["hub", off],
        ["wait", rng.choice((330, 700))], _flush(rng), ["delete", name, "now"], _flush(rng),
        ["upload", name, size, {}, rng.choice(("now", "now", "delay"))], _flush(rng)]


def _mix_told_reupload(rng: random.Random) -> tuple[dict, list]:
    """A deletion done in the Hub whose result publish is not confirmed; the name uploaded again
    before its message comes back (issue 23, bug 2)."""
    name = rng.choice(NAMES[:3] + NAMES[4:])
    return {"ON_DELETE": "delete"}, [
        ["upload", name, rng.choice((100, 300)), {}, "now"], _flush(rng),
        ["delete", name, rng.choice(("now", "now", "dup"))], _flush(rng, {"pubsub.publish": 1.0}),
        ["upload", name, rng.choice((100, 300)), {}, "now"], _flush(rng)]


def _mix_size_delete(rng: random.Random) -> tuple[dict, list]:
    """A file imported while small enough, overwritten by a version over MAX_OBJECT_BYTES (or the
    limit lowered), then deleted (issue 23, bug 5)."""
    name = rng.choice(NAMES[:3] + NAMES[4:])
    if rng.random() < 0.5:
        return {"ON_DELETE": "delete", "ON_OVERWRITE": "skip", "MAX_OBJECT_BYTES": "1000"}, [
            ["upload", name, rng.choice((100, 300)), {}, "now"], _flush(rng),
            ["upload", name, 5000, {}, "now"], _flush(rng), ["delete", name, "now"], _flush(rng)]
    return {"ON_DELETE": "delete", "MAX_OBJECT_BYTES": "0"}, [
        ["upload", name, 5000, {}, "now"], _flush(rng), ["settings", {"MAX_OBJECT_BYTES": "1000"}],
        ["delete", name, "now"], _flush(rng)]


def _mix_lease_takeover(rng: random.Random) -> tuple[dict, list]:
    """A flush slowed by Hub latency (or frozen) near the end of its lease while another starts,
    and takes the lease once it runs out; files deleted and uploaded again around it."""
    names = rng.sample(NAMES[:3] + NAMES[4:], 3)
    second = _flush(rng, rng.choice(FAULT_PROFILES)) if rng.random() < 0.7 else [rng.choice(("replay", "audit-fix"))]
    return {"MAX_ASSETS_PER_MANIFEST": rng.choice(("1", "3"))}, [
        *[["upload", n, rng.choice((100, 300)), {}, "now"] for n in names],
        ["hub", {"latency_ms": rng.choice((8000, 15000, 25000))}],
        ["together", _flush(rng), second, rng.randrange(1 << 30), rng.choice((100, 125, 150, 162, 175)),
         rng.choice((None, [rng.randint(2, 30), rng.choice((40, 90, 170))]))],
        ["hub", {"latency_ms": 0}], ["delete", names[0], "now"], ["upload", names[1], 200, {}, "now"],
        ["together", _flush(rng), _flush(rng), rng.randrange(1 << 30), rng.choice((0, 0.01, 1)), None],
        ["upload", names[0], 100, {}, "now"], _flush(rng)]


def _mix_ops_at_once(rng: random.Random) -> tuple[dict, list]:
    """Operations while a flush works: a commit landing after the settle time makes a second copy
    (heal's to remove) that `audit --fix` removes at once; a rejected file's failed manifest that
    `replay --failed` sends again while a flush runs; a lost event `backfill` brings while one drains."""
    name = rng.choice(NAMES[:3] + NAMES[4:])
    at_once = [["together", _flush(rng), op, rng.randrange(1 << 30), rng.choice((0, 0, 0.01, 1)), None]
               for op in (["audit-fix"], ["replay"], ["backfill", None])]
    rng.shuffle(at_once)
    return {"ON_DELETE": "delete", "ON_OVERWRITE": "skip"}, [
        ["hub", {"slow_commit": 1.0, "slow_commit_as": "reset", "slow_commit_delay_s": 400.0}],
        ["upload", name, 300, {}, "now"], ["upload", "x/d.pdf", 200, {}, "now"], _flush(rng),
        ["hub", {"slow_commit": 0.0}], ["wait", 330], _flush(rng), ["wait", 100],
        ["upload", rng.choice(NAMES[:3]), 100, {}, "lost"], *at_once,
        ["delete", name, "now"], at_once[0], ["upload", name, 300, {}, "now"], _flush(rng)]


MIXES = {"heal-reupload": _mix_heal_reupload, "told-reupload": _mix_told_reupload,
         "size-delete": _mix_size_delete, "lease-takeover": _mix_lease_takeover, "ops-at-once": _mix_ops_at_once}


def _any_flush(rng: random.Random) -> list:
    crash = rng.randint(1, 80) if rng.random() < 0.35 else None
    return ["flush", rng.randrange(1 << 30), rng.choice(FAULT_PROFILES), crash]


def together(rng: random.Random) -> list:
    """Two at once: a flush, and a flush, `replay --failed`, `audit --fix` or `backfill`. Flushes
    and replays take the flush lease, so half of those plots freeze the first flush early for about
    as long as the second waits to start, past the end of its lease (160 s): the second takes the
    expired lease while the first, alive, wakes and goes on (Turn.hold_lease's case)."""
    other = rng.choices(("flush", "replay", "audit-fix", "backfill"), weights=(3, 1, 1, 1))[0]
    second = _any_flush(rng) if other == "flush" else ["backfill", None] if other == "backfill" else [other]
    at = rng.choice((1, 2, rng.randint(3, 60), rng.randint(3, 60)))  # 1, 2: while taking the lease (hold_lease cuts)
    if other in ("flush", "replay") and rng.random() < 0.5:
        delay = rng.choice((161, 165, 200))
        stall = [at, delay + rng.choice((-1.0, 0.0, 0.05, 0.5, 2.0, 20.0))]
    else:
        delay = rng.choice((0, 0, 0, 0.01, 0.5, 5, 30, 130))
        stall = [at, rng.choice((5, 40, 90))] if rng.random() < 0.2 else None
    return ["together", _any_flush(rng), second, rng.randrange(1 << 30), delay, stall]


def step(rng: random.Random) -> list:
    kind = rng.choices(("upload", "delete", "flush", "hub", "wait", "backfill", "replay", "audit-fix", "poison",
                        "handmade", "settings", "together"),
                       weights=(6, 3, 4, 1.5, 1.5, 0.3, 0.4, 0.3, 0.2, 0.3, 0.3, 1.5))[0]
    if kind == "upload":
        size = rng.choice((100, 200, 300, 5000))
        meta = {"camera": rng.choice(("c1", "c2"))} if rng.random() < 0.4 else {}
        return ["upload", rng.choice(NAMES), size, meta, rng.choice(DELIVERY)]
    if kind == "delete":
        return ["delete", rng.choice(NAMES), rng.choice(("now", "now", "delay", "dup"))]
    if kind == "flush":
        return _any_flush(rng)
    if kind == "together":
        return together(rng)
    if kind == "hub":
        return ["hub", rng.choice(HUB_SWITCHES)]
    if kind == "wait":
        return ["wait", rng.choice((20, 40, 120, 330, 700))]
    if kind == "backfill":
        return ["backfill", rng.randint(1, 40) if rng.random() < 0.3 else None]
    if kind == "poison":
        return ["poison", f"not-a-message-{rng.randrange(1000)}"]
    if kind == "handmade":
        return ["handmade", rng.choice(NAMES)]
    if kind == "settings":
        return ["settings", rng.choice(({"ON_DELETE": "delete"}, {"ON_DELETE": "ignore"}, {"MAX_OBJECT_BYTES": "1000"},
                                        {"MAX_OBJECT_BYTES": "0"}, {"MAX_ASSETS_PER_MANIFEST": "2"}))]
    return [kind]
