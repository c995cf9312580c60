"""Every numeric setting the functions bound (hub_import/core/settings_table.py NUMBERS) is bounded
the same way by its Terraform variable's validation, so that `terraform apply` refuses what the
functions would refuse at cold start (a deployment that applies, then never starts), evaluated by
Terraform itself (`terraform console`, which needs no provider) at and just past each bound."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from hub_import.core.settings_table import NUMBERS, Bound

from .tfconfig import MODULE, load

pytestmark = pytest.mark.skipif(not shutil.which("terraform"), reason="no terraform binary on PATH")

CONFIG = load(MODULE)
VAR = re.compile(r"\bvar\.(\w+)")

# Settings with no Terraform variable of their own: the module derives them.
DERIVED = {"ALERT_CHANNELS": "length(var.notification_channels) + length(var.alert_emails)"}

# Where the module admits less than the functions do, and why: the variable's own (low, high), and
# the other variables its condition reads, set where they admit the most.
STRICTER = {
    # The scheduler must wait out the flush: budget + hub timeout + 45 s <= 1800 (Cloud Scheduler's
    # 30 minutes), and a deployment's flush gets at least 30 s of the minute between calls.
    "FLUSH_BUDGET_SECONDS": ((30, 1800 - 45 - 1), {"hub_timeout_seconds": 1}),
    # Above 0 (0, unpaced, is for the local stack's stand-in; a deployment faces the Hub's rate limit).
    "HUB_REQUESTS_PER_MINUTE": ((0.001, NUMBERS["HUB_REQUESTS_PER_MINUTE"].high), {}),
}


def verdicts(variable: str, values: list, others: dict) -> list[bool]:
    """Whether each of `values` passes every validation of `variable` (the others it reads set from
    `others`, else their defaults), as Terraform evaluates the conditions."""
    blocks = CONFIG.variables[variable].get("validation", [])
    assert blocks, f"variable {variable!r} has no validation"
    conditions = []
    for block in blocks:
        condition = block["condition"]
        assert condition.startswith("${") and condition.endswith("}"), condition
        conditions.append(condition[2:-1])

    def literal(name: str, value) -> str:
        if name == variable:
            return f"({json.dumps(value)})"
        if name in others:
            return f"({json.dumps(others[name])})"
        return f"({json.dumps(CONFIG.variables[name]['default'])})"

    def bound(value) -> str:
        return " && ".join("(" + VAR.sub(lambda m: literal(m.group(1), value), c) + ")" for c in conditions)

    expression = "[" + ", ".join(bound(v) for v in values) + "]"
    with_dir = os.environ.get("TMPDIR", "/tmp")
    done = subprocess.run(["terraform", "console"], input=f"jsonencode({expression})", cwd=with_dir,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"})
    assert done.returncode == 0, (expression, done.stderr)
    return json.loads(json.loads(done.stdout.strip()))


def past(bound: Bound, value: float, direction: int):
    """The nearest value past `value` outward: one for a whole number, a thousandth otherwise."""
    return value + direction * (1 if bound.whole else 0.001)


def test_every_bounded_setting_has_a_variable_or_is_derived():
    missing = [s for s in NUMBERS if s not in DERIVED and s.lower() not in CONFIG.variables]
    assert not missing, f"settings bounded by the functions with no Terraform variable: {missing}"
    assert set(STRICTER) <= set(NUMBERS)


@pytest.mark.parametrize("setting", [s for s in NUMBERS if s not in DERIVED])
def test_the_variable_admits_exactly_the_range_the_functions_admit(setting):
    bound = NUMBERS[setting]
    (low, high), others = STRICTER.get(setting, ((bound.low, bound.high), {}))
    assert bound.low <= low <= high <= bound.high, "the module may admit less than the functions, never more"
    probes = {"low": low, "high": high, "below low": past(bound, low, -1), "above high": past(bound, high, +1)}
    if bound.whole:
        probes["a fraction"] = low + 0.5
    got = dict(zip(probes, verdicts(setting.lower(), list(probes.values()), others)))
    wanted = {"low": True, "high": True, "below low": False, "above high": False, "a fraction": False}
    assert got == {k: wanted[k] for k in got}, {"setting": setting, "functions": bound, "module": (low, high),
                                               "probes": probes, "terraform admits": got}
