"""`check` says when the deployment's alerts reach nobody: Terraform tells it how many notification
channels the alert policies go to (ALERT_CHANNELS), and 0 is a warning, not a failure."""
from __future__ import annotations

import pytest

from hub_import.core.settings import ConfigError, load
from hub_import.ops.check import Check, alerting

BASE = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st"}


def test_alerts_without_a_notification_channel_are_a_warning_with_the_fix():
    [result] = alerting(load({**BASE, "ALERT_CHANNELS": "0"}))
    line = result.line()
    assert line.startswith("warn alerts: the alert policies have no notification channel")
    assert "fix: set alert_emails or notification_channels" in line
    assert result.warning and result.ok  # check still exits 0: the import works


def test_alerts_with_channels_are_ok_and_say_how_many():
    [result] = alerting(load({**BASE, "ALERT_CHANNELS": "2"}))
    assert result.line() == "ok   alerts: the alert policies go to 2 notification channel(s)"


def test_nothing_is_said_where_the_channels_are_not_known_as_on_the_local_stack():
    assert alerting(load(BASE)) == [] and alerting(load({**BASE, "ALERT_CHANNELS": ""})) == []


def test_a_malformed_count_is_named():
    with pytest.raises(ConfigError, match="^ALERT_CHANNELS"):
        load({**BASE, "ALERT_CHANNELS": "some"})


def test_a_failure_still_shows_its_fix_and_an_ok_line_none():
    assert Check("x", False, "broken", "repair").line() == "FAIL x: broken\n     fix: repair"
    assert Check("x", True, "fine", "unused").line() == "ok   x: fine"
