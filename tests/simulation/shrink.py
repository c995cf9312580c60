"""Delta debugging over a failing history's steps (Zeller's ddmin): the smallest list of steps,
found within a run budget, whose history still breaks the same invariant. Steps keep their own
seeds, so a step kept behaves as it did."""
from __future__ import annotations

from .runner import run


def shrink(history: dict, invariant: str | None = None, budget: int = 300) -> dict:
    first = run(history)
    target = invariant or sorted(first.kinds())[0]
    runs = [0]

    def fails(steps: list) -> bool:
        if runs[0] >= budget:
            return False
        runs[0] += 1
        try:
            return target in run(dict(history, steps=steps)).kinds()
        except Exception:  # noqa: BLE001 - a candidate the simulation cannot run is not kept
            return False

    steps, n = list(history["steps"]), 2
    while len(steps) >= 2:
        chunk = max(1, len(steps) // n)
        parts = [steps[i:i + chunk] for i in range(0, len(steps), chunk)]
        for i in range(len(parts)):
            rest = [s for j, p in enumerate(parts) if j != i for s in p]
            if fails(rest):
                steps, n = rest, max(n - 1, 2)
                break
        else:
            if n >= len(steps):
                break
            n = min(len(steps), n * 2)
    return dict(history, steps=steps, shrunk_for=target, shrink_runs=runs[0])
