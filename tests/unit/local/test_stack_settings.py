"""`make up` takes the product's settings from the caller's environment, for both functions."""
from __future__ import annotations

import pytest

from deploy.local.stack import HUB_PROJECT, StackError, check_settings, function_env, settings_from
from hub_import.core.settings import ENV

STACK = {"GOOGLE_CLOUD_PROJECT": "local-project", "STORAGE_EMULATOR_HOST": "http://127.0.0.1:1",
         "PUBSUB_EMULATOR_HOST": "127.0.0.1:2", "HUB_API_URL": "http://127.0.0.1:3", "HUB_PROJECT_ID": HUB_PROJECT,
         "HUB_STORAGE_ID": "demo-storage", "LANDING_BUCKET": "landing", "STATE_BUCKET": "state",
         "PUBSUB_TOPIC": "t", "PUBSUB_SUBSCRIPTION": "s", "DEAD_LETTER_TOPIC": "d", "RESULTS_TOPIC": "r"}


def test_every_setting_in_the_callers_environment_reaches_both_functions_over_the_stacks_default():
    caller = {"MAX_OBJECT_BYTES": "1000", "HUB_PROJECT_ID": "other", "ON_OVERWRITE": "import",
              "EXTERNAL_ID_TEMPLATE": "{name}#{generation}", "PATH": "/usr/bin", "HOME": "/root"}
    settings, ignored = settings_from(caller)
    assert settings == {k: caller[k] for k in ("MAX_OBJECT_BYTES", "HUB_PROJECT_ID", "ON_OVERWRITE",
                                               "EXTERNAL_ID_TEMPLATE")} and ignored == []
    env = function_env(STACK, settings)
    assert env["MAX_OBJECT_BYTES"] == "1000" and env["HUB_PROJECT_ID"] == "other"
    assert env["STATE_BUCKET"] == "state" and env["RESULTS_TOPIC"] == "r", "the stack's own wiring stays"
    assert env["LOG_LEVEL"] is None and env["HUB_API_KEY"] is None, \
        "a setting not passed on is left out, whatever the starting process holds"


def test_the_stacks_own_wiring_is_not_taken_from_the_caller_and_is_named():
    wired = {"GOOGLE_CLOUD_PROJECT": "my-real-project", "HUB_API_KEY": "a-real-key",
             "HUB_API_URL": "https://imeritapi.ango.ai", "STATE_BUCKET": "prod-state"}
    settings, ignored = settings_from({**wired, "HUB_BATCHES": "x"})
    assert settings == {"HUB_BATCHES": "x"}
    assert ignored == sorted(wired)
    taken, kept_out = settings_from({k: "v" for k in ENV})
    assert set(taken) | set(kept_out) == set(ENV) and not set(taken) & set(kept_out)


def test_a_setting_that_cannot_work_stops_make_up_naming_the_variable():
    with pytest.raises(StackError, match="ON_OVERWRITE: expected skip or import"):
        check_settings({"ON_OVERWRITE": "sometimes"})
    routed = check_settings({"HUB_ROUTES": '[{"prefix": "cams/", "project": "cams", "storage": "cams-st"}]'})
    assert routed.routes[0].destination.project == "cams" and routed.default.project == HUB_PROJECT


def test_make_up_passes_both_sweep_settings_and_schedules_the_sweep_by_them():
    from deploy.local.stack import sweep_every_minutes

    settings, _ = settings_from({"SWEEP_EVERY_MINUTES": "1", "SWEEP_GRACE_SECONDS": "0", "PATH": "/usr/bin"})
    assert settings == {"SWEEP_EVERY_MINUTES": "1", "SWEEP_GRACE_SECONDS": "0"}
    env = function_env(STACK, settings)
    assert (env["SWEEP_EVERY_MINUTES"], env["SWEEP_GRACE_SECONDS"]) == ("1", "0")
    assert sweep_every_minutes(settings) == 1  # the stack's sweep scheduler then calls it every 60 s
    assert sweep_every_minutes({}) == int(ENV["SWEEP_EVERY_MINUTES"][0]) == 60
    assert sweep_every_minutes({"SWEEP_EVERY_MINUTES": "0"}) == 0  # no sweep scheduler
    with pytest.raises(StackError):
        check_settings({"SWEEP_EVERY_MINUTES": "-1"})
