"""Every setting refuses what cannot work, with one error naming it: cases made from the settings
table itself (core/settings_table.py), so that a setting added without bounds or a refusal case
fails here rather than loading 1e99 seconds without a word. And both functions' cold start stops
on such a value with that one error."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub_import.core.settings import ConfigError, load
from hub_import.core.settings_table import ENV, NUMBERS

ROOT = Path(__file__).resolve().parents[3]
BASE = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st"}

# Every setting that is not numeric: a value it refuses. A setting that takes any text says why.
FLAGS = ("HUB_ALLOW_HTTP", "HUB_ALLOW_CUSTOM_HOST", "HUB_PUBLIC_BUCKET", "HUB_CREATE_BATCHES", "HUB_METADATA_OVERRIDES", "SKIP_EMPTY_OBJECTS",
         "PROBE_IMAGE_SIZE")
MALFORMED = {
    **{name: "maybe" for name in FLAGS},
    "GOOGLE_CLOUD_PROJECT": "",  # required
    "HUB_API_URL": "imeritapi.ango.ai",
    "HUB_PROJECT_ID": "",  # required while HUB_ROUTES is empty
    "HUB_STORAGE_ID": "",  # empty means "find it": then LANDING_BUCKET must be named (the error names that)
    "HUB_BATCHES": "{nme}",
    "HUB_ROUTES": "{not json",
    "HUB_CONTEXT_KEYS": "hub-project",
    "INCLUDE_GLOBS": "[z-a]*",
    "EXCLUDE_GLOBS": "[9-0].jpg",
    "URL_TEMPLATE": "https://x/{path}",
    "EXTERNAL_ID_TEMPLATE": "{nme}",
    "PUBSUB_TOPIC": "",
    "PUBSUB_SUBSCRIPTION": "",
    "DEAD_LETTER_TOPIC": "",
    "LANDING_BUCKET": "a/b",
    "STATE_BUCKET": "a/b",
    "MANIFEST_PREFIX": "/",
    "LEDGER_PREFIX": "/",
    "ON_OVERWRITE": "replace",
    "ON_DELETE": "purge",
    "LOG_LEVEL": "LOUD",
}
NAMED_BY = {"HUB_STORAGE_ID": "LANDING_BUCKET"}  # the variable the error must name, where it is another
FREE_TEXT = {
    "HUB_API_KEY": "any string is a key; only the Hub can refuse it (and it is required where the Hub is called)",
    "ALLOWED_EXTENSIONS": "any comma-separated list of extensions",
    "ALLOWED_CONTENT_TYPES": "any comma-separated list of content types",
    "RESULTS_TOPIC": "empty means none; any name is a topic name",
}


def refused(env: dict) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        load({k: v for k, v in {**BASE, **env}.items() if v is not None})
    return raised.value


def test_every_setting_is_numeric_with_bounds_or_has_a_refusal_case_or_says_why_not():
    covered = set(NUMBERS) | set(MALFORMED) | set(FREE_TEXT)
    assert covered == set(ENV), {"no case": sorted(set(ENV) - covered), "not a setting": sorted(covered - set(ENV))}
    assert not set(NUMBERS) & set(MALFORMED)


def numeric_cases():
    for name, bound in NUMBERS.items():
        step = 1 if bound.whole else 0.5
        values = [str(bound.low - step).removesuffix(".0") if bound.whole else str(bound.low - step),
                  str(int(bound.high + step)) if bound.whole else str(bound.high + step),
                  "1e99", "-1e99", "nan", "inf", "-inf", "NaN", "soon", "1.5" if bound.whole else "1,5"]
        for value in values:
            yield pytest.param(name, value, id=f"{name}={value}")


@pytest.mark.parametrize("name,value", list(numeric_cases()))
def test_every_numeric_setting_refuses_out_of_range_and_malformed_values_naming_itself(name, value):
    error = refused({name: value})
    assert str(error).startswith(f"{name}: expected a "), str(error)
    assert "\n" not in str(error)


@pytest.mark.parametrize("name", list(NUMBERS))
def test_every_numeric_setting_takes_both_its_bounds(name):
    bound = NUMBERS[name]
    for edge in (bound.low, bound.high):
        text = str(int(edge)) if bound.whole else repr(float(edge))
        load({**BASE, name: text})


def test_the_upper_bounds_are_finite_and_above_the_defaults():
    for name, bound in NUMBERS.items():
        assert bound.low < bound.high < 1e13, name
        default = ENV[name][0]
        if default:
            assert bound.low <= float(default) <= bound.high, name


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_every_other_setting_refuses_a_malformed_value_naming_itself(name):
    error = refused({name: MALFORMED[name]})
    assert str(error).startswith(f"{NAMED_BY.get(name, name)}:"), str(error)


COLD_STARTS = [("on_object_finalized", "cloudevent"), ("flush", "http")]
BAD = [("FLUSH_BUDGET_SECONDS", "1e99"), ("HUB_TIMEOUT_SECONDS", "1e99"), ("HUB_SETTLE_SECONDS", "1e99"),
       ("HUB_REQUESTS_PER_MINUTE", "nan")]
COLD_START = """
import functions_framework, sys
functions_framework.create_app(target=sys.argv[1], source="main.py", signature_type=sys.argv[2])
print("STARTED")
"""


@pytest.mark.parametrize("target,signature", COLD_STARTS, ids=[t for t, _ in COLD_STARTS])
@pytest.mark.parametrize("name,value", BAD, ids=[f"{n}={v}" for n, v in BAD])
def test_each_function_stops_at_cold_start_with_one_error_naming_the_setting(target, signature, name, value):
    # As Cloud Functions starts one: a fresh interpreter loading main.py for the target.
    env = {k: v for k, v in os.environ.items() if k not in ENV}
    done = subprocess.run([sys.executable, "-c", COLD_START, target, signature], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**env, **BASE, "HUB_API_KEY": "k", name: value})
    assert done.returncode != 0 and "STARTED" not in done.stdout, done.stdout
    errors = [line for line in done.stderr.splitlines() if "ConfigError:" in line]
    assert len(errors) == 1 and errors[0].split("ConfigError: ", 1)[1].startswith(f"{name}: expected a "), \
        done.stderr[-2000:]


@pytest.mark.parametrize("target,signature", COLD_STARTS, ids=[t for t, _ in COLD_STARTS])
def test_each_function_starts_with_the_same_settings_in_range(target, signature):
    """The control: the same start with good values gets past the settings."""
    env = {k: v for k, v in os.environ.items() if k not in ENV}
    done = subprocess.run([sys.executable, "-c", COLD_START, target, signature], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**env, **BASE, "HUB_API_KEY": "k",
                                                       "FLUSH_BUDGET_SECONDS": "1800", "HUB_TIMEOUT_SECONDS": "300"})
    assert done.returncode == 0 and "STARTED" in done.stdout, done.stderr[-2000:]
