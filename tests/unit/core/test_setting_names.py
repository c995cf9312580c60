"""Issue 20: a misspelt setting in the environment (`HUB_ROUTE=...`) is refused with "did you mean",
where the functions start and where the CLI does; the environment's other variables are left alone."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub_import.core.environment import ConfigError
from hub_import.core.settings import load

ROOT = Path(__file__).resolve().parents[3]
BASE = {"GOOGLE_CLOUD_PROJECT": "p", "HUB_PROJECT_ID": "proj", "STATE_BUCKET": "state", "HUB_PUBLIC_BUCKET": "true"}


@pytest.mark.parametrize("name, meant", [("HUB_ROUTE", "HUB_ROUTES"), ("HUB_BATCHS", "HUB_BATCHES"),
                                         ("HUB_PROJECT", "HUB_PROJECT_ID"), ("FLUSH_BUDGET", "FLUSH_BUDGET_SECONDS"),
                                         ("ON_DELETES", "ON_DELETE"), ("MAX_ASSETS_PER_MANIFESTS",
                                                                       "MAX_ASSETS_PER_MANIFEST")])
def test_a_misspelt_setting_is_refused_with_the_name_meant(name, meant):
    with pytest.raises(ConfigError) as refused:
        load({**BASE, name: "secret-value"})
    said = str(refused.value)
    assert said.startswith(f"{name}: not a setting; did you mean {meant}?") and "secret-value" not in said


@pytest.mark.parametrize("name", ["HUB_IMPORT_CACHE", "HUB_SWITCH_FILES", "FLUSH_CRASH_AT", "PUBSUB_EMULATOR_HOST",
                                  "STORAGE_EMULATOR_HOST", "RESULTS_SUBSCRIPTION", "DEAD_LETTER_SUBSCRIPTION",
                                  "GOOGLE_CLOUD_QUOTA_PROJECT", "LOG_EXECUTION_ID", "FLUSH_URL", "hub_routes",
                                  "K_SERVICE", "HOME"])
def test_other_variables_are_left_alone(name):
    # the build's, the tests', the emulators', Google's and Cloud Run's own, the local stack's exports
    assert load({**BASE, name: "x"}).default.project == "proj"


def test_the_functions_refuse_to_start_on_a_misspelt_setting():
    # WHEN the functions' module is loaded (a cold start) with HUB_ROUTE set
    env = {**{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}, **BASE, "HUB_ROUTE": "[]"}
    done = subprocess.run([sys.executable, "-c", "import main"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    # THEN it does not start, and the error names the variable and the setting meant
    assert done.returncode != 0
    assert "ConfigError: HUB_ROUTE: not a setting; did you mean HUB_ROUTES?" in done.stderr
