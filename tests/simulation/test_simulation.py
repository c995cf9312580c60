"""The deterministic simulation (docs/simulation.md): seeded histories of the whole product, each
brought to rest and judged. SIM_HISTORIES sets how many run in all (default 320, over CHUNKS
tests so that xdist spreads them); `make soak` runs 20,000. A failing history is shrunk and
printed as a script to paste into regressions.py.

KNOWN_OPEN maps the invariants that bugs still open on this branch's base break to those bugs: a
history breaking only those is an xfail (with its shrunk script), any other a failure. Empty it
as the fixes merge: the simulation must then run clean."""
from __future__ import annotations

import os

import pytest

from . import generator, runner, shrink
from .regressions import REGRESSIONS

CHUNKS = 10
TOTAL = int(os.environ.get("SIM_HISTORIES", "320"))
FIRST_SEED = int(os.environ.get("SIM_FIRST_SEED", "0"))
KNOWN_OPEN: dict[str, str] = {}  # regressions.py: the open ones


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_histories_come_to_rest_with_every_invariant_holding(chunk):
    per = -(-TOTAL // CHUNKS)
    seeds = range(FIRST_SEED + chunk * per, FIRST_SEED + min(TOTAL, (chunk + 1) * per))
    failing, clean = [], 0
    for seed in seeds:
        result = runner.run(generator.history(seed))
        if result.ok:
            clean += 1
        else:
            failing.append(result)
    print(f"simulation chunk {chunk}: {clean} of {len(seeds)} histories ran clean")
    if not failing:
        return
    unknown = [r for r in failing if r.kinds() - set(KNOWN_OPEN)]
    worst = (unknown or failing)[0]
    kind = sorted(worst.kinds() - set(KNOWN_OPEN) or worst.kinds())[0]
    small = shrink.shrink(worst.history, kind, budget=40)
    report = (f"{len(failing)} of {len(seeds)} histories broke invariants "
              f"{sorted(set().union(*(r.kinds() for r in failing)))}; seed {worst.history['seed']} shrunk for "
              f"[{kind}]:\n{runner.script(small)}\n" + "\n".join(str(v) for v in runner.run(small).violations))
    if unknown:
        pytest.fail(report)
    pytest.xfail("known open bugs: " + "; ".join(KNOWN_OPEN[k] for k in sorted(worst.kinds())) + "\n" + report)


@pytest.mark.parametrize("case", REGRESSIONS, ids=[c["invariant"] + "-" + str(c["history"]["seed"]) for c in REGRESSIONS])
def test_regression_replays_clean(case, request):
    if case.get("open"):
        request.applymarker(pytest.mark.xfail(strict=True, reason="open: " + case["bug"]))
    result = runner.run(case["history"])
    assert result.ok, "\n".join(str(v) for v in result.violations)


INTERLEAVED = {"seed": 125, "setup": generator.history(125)["setup"], "steps": generator.history(125)["steps"] + [
    ["upload", "a.png", 100, {}, "now"], ["upload", "b.pdf", 300, {}, "now"], ["delete", "e f#1.png", "now"],
    ["together", ["flush", 7, {"gcs.write": 0.05, "pubsub.publish": 0.2}, None], ["audit-fix"], 99, 0, [5, 3.0]],
    ["upload", "cams/c.png", 100, {}, "now"], ["hub", {"latency_ms": 2000}],
    ["together", ["flush", 8, {}, None], ["flush", 9, {}, 30], 98, 161, [3, 162.0]],
]}


@pytest.mark.parametrize("history", [generator.history(12345), INTERLEAVED, generator.history(33)],
                         ids=["sequential", "interleaved", "sweep-race"])
def test_a_history_replays_identically(history):
    a, b = runner.run(history, keep_world=True), runner.run(history, keep_world=True)
    assert a.outcomes == b.outcomes and a.world.log.lines == b.world.log.lines
    assert a.world.hub.all_assets() == b.world.hub.all_assets()
    assert a.world.pubsub.topics == b.world.pubsub.topics
    assert [r.outcome for r in a.world.sweep_runs] == [r.outcome for r in b.world.sweep_runs]
