"""Watching it run: log-based metrics read fields the code really writes, a dashboard charts the
queue and the flush, and alert policies fire on old messages, dead letters and an unreachable
Hub, to the notification channels a variable names."""
from __future__ import annotations

import re

import pytest

from hub_import.flush.summary import Summary

from .tfconfig import MODULE, ROOT, load

CONFIG = load(MODULE)
METRICS = CONFIG.resources["google_logging_metric"]
POLICIES = CONFIG.resources["google_monitoring_alert_policy"]
DASHBOARD = (MODULE / "dashboard.tf").read_text()
CODE = "\n".join(p.read_text() for p in sorted((ROOT / "hub_import").rglob("*.py")))


def _unescape(text: str) -> str:
    return text.replace('\\"', '"')


def _filters() -> list[str]:
    """Every metric's log filter, with the module's locals written out."""
    out = []
    for metric in METRICS.values():
        text = metric["filter"]
        for name in ("flush_done", "flush_logs", "sweep_done"):
            text = text.replace(f"${{local.{name}}}", CONFIG.locals[name])
        out.append(_unescape(text))
    return out


def test_every_log_message_the_metrics_match_is_one_the_code_logs():
    messages = {m for f in _filters() for m in re.findall(r'jsonPayload\.message=~?"\^?([^"]+)"', f)}
    assert messages == {"flush done", "Hub call failed; retrying", "the Hub does not answer; nothing pulled this time",
                        "the Hub rejected an asset", "dead-lettered", "manifest left pending",
                        "waiting for a Hub storage integration for bucket", "sweep done"}
    for message in messages:
        assert f'"{message}' in CODE, message
    assert all('resource.labels.service_name="${local.flush_name}"' in f or
               ('resource.labels.service_name="${local.sweep_name}"' in f and '"sweep done"' in f) for f in _filters())


def test_every_field_the_metrics_read_is_on_the_line_they_match():
    flush_done_fields = set(Summary("x").to_json()) - {"manifests"}
    assert {"sent", "seconds", "hub_unavailable", "dead_lettered"} <= flush_done_fields
    for metric in ("assets_sent", "flush_seconds", "hub_unreachable"):
        assert METRICS[metric]["filter"].startswith("${local.flush_done}"), metric
    read = set(re.findall(r"jsonPayload\.(\w+)", " ".join(str(METRICS[m]) for m in ("assets_sent", "flush_seconds", "hub_unreachable"))))
    assert read <= flush_done_fields | {"message"}
    # The Hub-error lines each carry a reason (hub_import/flush/run.py, hub.py).
    for message in ("Hub call failed; retrying", "the Hub does not answer; nothing pulled this time",
                    "the Hub rejected an asset", "manifest left pending"):
        call = CODE[CODE.index(f'"{message}"'):][:300]
        assert "reason=" in call, message


def test_the_hub_error_status_is_read_from_the_reasons_the_client_writes():
    extractor = METRICS["hub_errors"]["label_extractors"]["status"]
    pattern = re.search(r'REGEXP_EXTRACT\(jsonPayload\.reason, "(.+)"\)', _unescape(extractor)).group(1)
    for reason, status in [("503 on POST /v2/project/p/cloud_storage: busy", "503"),
                           ("Hub unavailable until the deadline: 429 on GET /v2/storages: slow down", "429"),
                           ("401 on GET /v2/storages: bad key", "401"),
                           ("ConnectionError on POST /v2/project/p/cloud_storage", "ConnectionError"),
                           ("read timeout on GET /v2/storages", "read timeout"),
                           ("import outcome unknown: 504 on POST /v2/project/p/cloud: Gateway Timeout", "504")]:
        assert re.search(pattern, reason).group(1) == status, reason


@pytest.mark.parametrize("title,metric", [
    ("Backlog", "pubsub.googleapis.com/subscription/num_undelivered_messages"),
    ("Age of the oldest unacked", "pubsub.googleapis.com/subscription/oldest_unacked_message_age"),
    ("Assets sent", "google_logging_metric.assets_sent.name"),
    ("Hub errors by status", "google_logging_metric.hub_errors.name"),
    ("Dead letters", "google_logging_metric.dead_lettered.name"),
    ("Dead letters", "pubsub.googleapis.com/subscription/dead_letter_message_count"),
    ("Flush duration", "google_logging_metric.flush_seconds.name"),
])
def test_the_dashboard_charts(title, metric):
    widget = DASHBOARD[DASHBOARD.index(f'title = "{title}'):]
    widget = widget[:widget.index("\n    },\n")]
    assert metric in widget
    assert "metric.label.status" in DASHBOARD[DASHBOARD.index('"Hub errors by status"'):]


def test_an_alert_fires_when_the_oldest_message_is_older_than_the_threshold():
    [condition] = POLICIES["oldest_message"]["conditions"]
    threshold = condition["condition_threshold"][0]
    assert "oldest_unacked_message_age" in threshold["filter"] and "google_pubsub_subscription.flush.name" in threshold["filter"]
    assert threshold["threshold_value"] == "${var.alert_oldest_message_seconds}"
    assert threshold["comparison"] == "COMPARISON_GT"


def test_an_alert_fires_on_any_dead_letter_from_the_flush_or_from_pubsub():
    filters = [c["condition_threshold"][0] for c in POLICIES["dead_letters"]["conditions"]]
    assert POLICIES["dead_letters"]["combiner"] == "OR"
    assert any("google_logging_metric.dead_lettered.name" in f["filter"] for f in filters)
    assert any("dead_letter_message_count" in f["filter"] for f in filters)
    assert all(f["threshold_value"] == 0 and f["comparison"] == "COMPARISON_GT" for f in filters)


def test_an_alert_fires_when_the_hub_is_unreachable_for_n_flushes():
    [condition] = POLICIES["hub_unreachable"]["conditions"]
    threshold = condition["condition_threshold"][0]
    assert "google_logging_metric.hub_unreachable.name" in threshold["filter"]
    assert threshold["threshold_value"] == "${var.alert_hub_unreachable_flushes - 1}"  # > N - 1: at least N
    assert "var.alert_hub_unreachable_flushes + 1" in threshold["aggregations"][0]["alignment_period"]
    assert "jsonPayload.hub_unavailable!=" in METRICS["hub_unreachable"]["filter"]


def test_every_alert_goes_to_the_channels_of_the_variables():
    assert CONFIG.locals["channels"] == "${concat(var.notification_channels, google_monitoring_notification_channel.email[*].id)}"
    assert set(POLICIES) == {"oldest_message", "dead_letters", "hub_unreachable", "storage_waiting", "deletions_held",
                             "sweep_missed", "sweep_failed"}
    for name, policy in POLICIES.items():
        assert policy["notification_channels"] == "${local.channels}", name
        assert policy["documentation"][0]["content"], name
    email = CONFIG.resources["google_monitoring_notification_channel"]["email"]
    assert email["count"] == "${length(var.alert_emails)}"



def test_an_alert_fires_while_the_flush_waits_for_a_storage_integration():
    from hub_import.core.bucket_storage import WAITING_PREFIX, waiting_line

    # the metric matches the very line the flush logs while it waits (one a flush)
    pattern = re.search(r'jsonPayload\.message=~"(.+?)"', _unescape(METRICS["storage_waiting"]["filter"])).group(1)
    assert pattern == "^" + WAITING_PREFIX and re.search(pattern, waiting_line("my-team-labeling-inbox"))
    assert METRICS["storage_waiting"]["filter"].startswith("${local.flush_logs}")
    [condition] = POLICIES["storage_waiting"]["conditions"]
    threshold = condition["condition_threshold"][0]
    assert "google_logging_metric.storage_waiting.name" in threshold["filter"]
    assert threshold["threshold_value"] == 0 and threshold["comparison"] == "COMPARISON_GT"
    content = POLICIES["storage_waiting"]["documentation"][0]["content"]
    assert "Organization > Storages" in content and "nothing to re-apply" in content and "7 days" in content
    assert "google_logging_metric.storage_waiting" in str(CONFIG.resources["time_sleep"]["log_metrics_known"]["triggers"])
    assert "storage_waiting" in CONFIG.outputs["alert_policies"]["value"]


def test_an_alert_fires_when_the_flush_holds_deletions_past_the_hourly_limit():
    # the metric reads the field the flush's last line carries (Summary.deletions_held)
    assert "deletions_held" in Summary("x").to_json()
    metric = METRICS["deletions_held"]
    assert metric["filter"] == "${local.flush_done} AND jsonPayload.deletions_held>0"
    [condition] = POLICIES["deletions_held"]["conditions"]
    threshold = condition["condition_threshold"][0]
    assert "google_logging_metric.deletions_held.name" in threshold["filter"]
    assert threshold["threshold_value"] == 0 and threshold["comparison"] == "COMPARISON_GT"
    content = POLICIES["deletions_held"]["documentation"][0]["content"]
    assert "deletions --approve" in content and "deletions --discard" in content
    assert POLICIES["deletions_held"]["notification_channels"] == "${local.channels}"
    assert "deletions_held" in CONFIG.outputs["alert_policies"]["value"]


def test_an_alert_fires_when_a_sweep_finds_files_whose_event_was_lost_and_says_to_check_the_trigger():
    from hub_import.ingest.sweep import SweepReport

    # the metric reads the line every sweep logs, and a field that line carries
    assert METRICS["sweep_missed"]["filter"] == "${local.sweep_done} AND jsonPayload.queued>0"
    assert "queued" in SweepReport().to_json() and 'log(logger, level, "sweep done", **report.to_json())' in CODE
    [condition] = POLICIES["sweep_missed"]["conditions"]
    threshold = condition["condition_threshold"][0]
    assert "google_logging_metric.sweep_missed.name" in threshold["filter"] and threshold["threshold_value"] == 0
    assert "events are being lost" in POLICIES["sweep_missed"]["display_name"]
    assert "Check the trigger" in POLICIES["sweep_missed"]["documentation"][0]["content"]


def test_an_alert_fires_when_a_sweep_fails_and_says_what_to_check():
    from hub_import.ingest.sweep import SweepReport

    # the metric reads the line every sweep logs, at ERROR when the run failed (its error field says how)
    assert METRICS["sweep_failed"]["filter"] == "${local.sweep_done} AND severity=ERROR"
    assert "error" in SweepReport().to_json()
    assert "level = logging.ERROR if report.error else" in CODE
    assert 'log(logger, level, "sweep done", **report.to_json())' in CODE
    [condition] = POLICIES["sweep_failed"]["conditions"]
    threshold = condition["condition_threshold"][0]
    assert "google_logging_metric.sweep_failed.name" in threshold["filter"]
    assert threshold["threshold_value"] == 0 and threshold["comparison"] == "COMPARISON_GT"
    assert POLICIES["sweep_failed"]["display_name"] == "${var.name_prefix}: the sweep fails"
    content = POLICIES["sweep_failed"]["documentation"][0]["content"]
    for what in ("the sweep function's logs", "storage.objects.list on the landing bucket", "roles/pubsub.publisher",
                 "google_pubsub_topic.assets.name", "google_storage_bucket.state.name", "local.account_ids.sweep",
                 "status"):
        assert what in content, what
    assert POLICIES["sweep_failed"]["depends_on"] == ["${time_sleep.log_metrics_known}"]
    assert "google_logging_metric.sweep_failed" in str(CONFIG.resources["time_sleep"]["log_metrics_known"]["triggers"])
    assert "sweep_failed" in CONFIG.outputs["alert_policies"]["value"]
