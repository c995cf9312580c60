"""The sweep's part of a history (generator.py), drawn on a die of its own (seeded from the history's
seed) so that every other draw of a seed stays what it was:

- in every setup, SWEEP_GRACE_SECONDS (0, 30 or 120) and the bounds of the sweeps that bring the
  world to rest (`sweep`: page_size 1-5, max_objects none or 1-3: a pass spans several runs);
- in SWEEP_SHARE of histories, 1-4 steps put among the others: an upload whose event is lost, or
  whose ingest delivery fails until Eventarc gives up (`fail`), 3 in 10 of them with a timeCreated
  120-590 s before the object became listable (the upload step's sixth word, BACKDATE: what the
  sweep's OVERLAP_S allows for); a sweep; a complete pass, then such an upload 1-60 s later (`slow`:
  its timeCreated is before the pass began); a deletion left under way (`deleting`: its DELETE's
  answer lost) and the name uploaded again, its event lost, last in the history (the deletion is
  under way when the world is brought to rest); or a sweep at once with an upload, an overwrite, a
  deletion, a flush or another sweep;
- in RACE_SHARE of those, the `sweep-race` plot instead: files whose events are lost or fail, maybe
  a wait shorter than the grace, then a sweep at once with an overwrite, with a deletion, with a
  flush, with another sweep, and a flush.

Steps: `sweep SEED PAGE_SIZE MAX_OBJECTS FAULTS CRASH_AT` (the real Sweep, its faults drawn with
SEED, killed at its CRASH_AT-th fake call)."""
from __future__ import annotations

import random

SWEEP_SHARE = 0.45
RACE_SHARE = 0.4
GRACES = ("0", "0", "30", "120")
SWEEP_FAULTS = ({}, {}, {}, {"gcs.list": 0.2}, {"gcs.read": 0.1}, {"gcs.write": 0.15}, {"pubsub.publish": 0.4})
UNDER_WAY_OFF = ["hub", {"drop_after_delete": 0.0}]  # ends a `deleting` block, put last: still under way at rest
DELAYS = (0, 0.001, 0.003, 0.005, 0.009, 0.02)  # a fake call costs 0.002 s: the other lands mid-listing


def add(seed: int, setup: dict, steps: list, length: int | None, names: tuple, any_flush) -> None:
    rng = random.Random(seed * 104729 + 31)
    setup["env"]["SWEEP_GRACE_SECONDS"] = rng.choice(GRACES)
    setup["sweep"] = {"page_size": rng.randint(1, 5), "max_objects": rng.choice((None, None, 1, 2, 3))}
    if length is not None or rng.random() >= SWEEP_SHARE:
        return
    if rng.random() < RACE_SHARE:
        setup.setdefault("mix", "sweep-race")
        at = rng.randint(0, len(steps))
        steps[at:at] = _race(rng, names, any_flush)
        return
    for _ in range(rng.randint(1, 4)):
        block = _one(rng, names, any_flush)
        at = len(steps) if block[-1] == UNDER_WAY_OFF else rng.randint(0, len(steps))  # under way at rest
        steps[at:at] = block


def sweep(rng: random.Random) -> list:
    crash = rng.randint(1, 30) if rng.random() < 0.15 else None
    return ["sweep", rng.randrange(1 << 30), rng.randint(1, 5), rng.choice((None, 1, 2, 3)), rng.choice(SWEEP_FAULTS),
            crash]


def _lost(rng: random.Random, name: str) -> list:
    step = ["upload", name, rng.choice((100, 300, 5000)), {}, rng.choice(("lost", "lost", "fail"))]
    if rng.random() < 0.3:  # its timeCreated up to OVERLAP_S (600 s) before it became listable
        step.append(rng.choice((120, 400, 590)))
    return step


def _at_once(rng: random.Random, other: list) -> list:
    return ["together", sweep(rng), other, rng.randrange(1 << 30), rng.choice(DELAYS), None]


def _one(rng: random.Random, names: tuple, any_flush) -> list:
    """Steps to put among the others (kept together)."""
    kind = rng.choice(("lost", "lost", "sweep", "together", "slow", "deleting"))
    if kind == "lost":
        return [_lost(rng, rng.choice(names))]
    if kind == "sweep":
        return [sweep(rng)]
    if kind == "slow":  # a complete pass, then a file listable just after it began, its timeCreated well before
        return [["sweep", rng.randrange(1 << 30), 5, None, {}, None], ["wait", rng.choice((1, 10, 60))],
                ["upload", rng.choice(names), 200, {}, rng.choice(("lost", "fail")), rng.choice((400, 590))]]
    if kind == "deleting":  # a deletion left under way (its DELETE's answer lost), the name uploaded again, event lost
        name = rng.choice(names)
        return [["upload", name, 200, {}, "now"], ["flush", rng.randrange(1 << 30), {}, None],
                ["hub", {"drop_after_delete": 1.0}], ["delete", name, "now"], ["flush", rng.randrange(1 << 30), {}, None],
                ["upload", name, 100, {}, rng.choice(("lost", "fail"))], UNDER_WAY_OFF]
    other = rng.choice(("upload", "delete", "flush", "sweep"))
    if other == "upload":
        return [_at_once(rng, ["upload", rng.choice(names), 200, {}, rng.choice(("now", "lost"))])]
    if other == "delete":
        return [_at_once(rng, ["delete", rng.choice(names), "now"])]
    return [_at_once(rng, any_flush(rng) if other == "flush" else sweep(rng))]


def _race(rng: random.Random, names: tuple, any_flush) -> list:
    picked = rng.sample(names, 3)
    plot = [_lost(rng, n) if rng.random() < 0.7 else ["upload", n, 200, {}, "now"] for n in picked]
    if rng.random() < 0.6:
        plot.append(["wait", rng.choice((10, 60, 150, 700))])
    plot += [_at_once(rng, ["upload", picked[0], 300, {"camera": "c1"}, rng.choice(("now", "lost", "fail"))]),
             _at_once(rng, ["delete", picked[1], "now"]),
             _at_once(rng, any_flush(rng)),
             ["upload", picked[1], 100, {}, rng.choice(("lost", "fail"))],
             ["wait", rng.choice((10, 150))],
             _at_once(rng, sweep(rng)),
             any_flush(rng)]
    return [s for s in plot if rng.random() < 0.92]
