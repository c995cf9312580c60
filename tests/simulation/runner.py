"""Run one history in a fresh World, bring it to rest, check the invariants."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import agree, invariants, sweeps
from .scheduler import Baton
from .world import World


@dataclass
class Result:
    history: dict
    violations: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)
    world: World | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def kinds(self) -> set[str]:
        return {v.invariant for v in self.violations}


def run(history: dict, keep_world: bool = False) -> Result:
    setup = history["setup"]
    guesses = dict(setup["guesses"], list_lag_s=float(setup.get("list_lag_s", 0)))  # the stand-in's switches
    world = World(history["seed"], env=setup["env"], guesses=guesses)
    if "sweep" in setup:  # the bounds of the sweeps that bring it to rest
        world.rest_sweep = (setup["sweep"]["page_size"], setup["sweep"]["max_objects"])
    with world.with_product():
        for step in history["steps"]:
            apply(world, step)
            world.deliver_due()
        busy = world.to_rest()
        violations = invariants.held_kept(world)
        if world.held():  # a person approves what is held, and the system comes to rest again
            world.approve()
            busy = world.to_rest()
        if not busy:
            sweeps.final(world)
        violations += invariants.check(world, busy) + agree.check(world) + sweeps.check(world)
    return Result(history, violations, world.outcomes, world if keep_world else None)


def apply(world: World, step: list) -> None:
    kind, args = step[0], step[1:]
    if kind == "upload":
        world.upload(*args)
    elif kind == "delete":
        world.delete(*args)
    elif kind == "flush":
        world.flush(args[0], args[1], args[2])
    elif kind == "sweep":
        world.sweep(*args)
    elif kind == "hub":
        world.hub.set_faults(args[0])
    elif kind == "wait":
        world.wait(args[0])
    elif kind == "backfill":
        world.backfill(0, args[0])
    elif kind == "replay":
        world.replay_failed()
    elif kind == "audit-fix":
        try:
            world.audit(fix=True)
        except Exception as exc:  # noqa: BLE001 - the command fails and says so
            world.outcomes.append(f"audit --fix failed: {type(exc).__name__}: {exc}")
    elif kind == "deletions":
        world.approve()
    elif kind == "poison":
        world.poison_message(args[0])
    elif kind == "handmade":
        world.handmade_asset(args[0])
    elif kind == "together":
        together(world, *args)
    elif kind == "settings":
        world.to_rest()
        world.change_settings(args[0])
    else:
        raise ValueError(f"unknown step {step!r}")


def together(world: World, first: list, second: list, seed: int, delay: float = 0.0, stall: list | None = None) -> None:
    """Two steps truly at once under a baton (scheduler.py): `second` starts `delay` seconds after
    `first`; `stall` = [n, seconds]: the first actor's process freezes that long at its n-th call
    (a pause the process does not see: its checks of the clock were made before it)."""
    def one():
        if stall:
            world.io.stall_next(*stall)
        apply(world, first)

    def two():
        world.clock.sleep(delay)
        apply(world, second)

    baton = Baton(world.clock, world.io, seed)
    ended = baton.run([(first[0], one), (second[0], two)])
    world.outcomes.append(f"together ({baton.passes} passes): " + ", ".join(ended))


def script(history: dict) -> str:
    """The history as a readable, replayable script (a Python literal)."""
    lines = ["{" + f'"seed": {history["seed"]}, "setup": {json.dumps(history["setup"])}, "steps": [']
    lines += [f"    {json.dumps(s)}," for s in history["steps"]]
    lines.append("]}")
    return "\n".join(lines)
