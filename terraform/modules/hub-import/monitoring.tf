# Log-based metrics from the flush's JSON log lines (hub_import/core/logs.py: jsonPayload holds each
# line's message and fields), the alerts, and where they go. The dashboard is in dashboard.tf.

locals {
  metric_prefix = replace(var.name_prefix, "-", "_") # PromQL names cannot hold hyphens
  flush_logs    = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.flush_name}\""
  # The last line of every flush (hub_import/flush/run.py, Flush.run), with its Summary's fields.
  flush_done = "${local.flush_logs} AND jsonPayload.message=\"flush done\""
  channels   = concat(var.notification_channels, google_monitoring_notification_channel.email[*].id)
}

resource "google_logging_metric" "assets_sent" {
  project         = var.project_id
  name            = "${local.metric_prefix}_assets_sent"
  description     = "Assets the Hub took, per flush (the sent field of its last line)"
  filter          = local.flush_done
  value_extractor = "EXTRACT(jsonPayload.sent)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "1"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 16
      growth_factor      = 2
      scale              = 1
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_logging_metric" "flush_seconds" {
  project         = var.project_id
  name            = "${local.metric_prefix}_flush_seconds"
  description     = "How long each flush ran (the seconds field of its last line)"
  filter          = local.flush_done
  value_extractor = "EXTRACT(jsonPayload.seconds)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "s"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 12
      growth_factor      = 2
      scale              = 0.5
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_logging_metric" "hub_unreachable" {
  project     = var.project_id
  name        = "${local.metric_prefix}_hub_unreachable"
  description = "Flushes that found the Hub unreachable and pulled nothing (hub_unavailable set on the last line)"
  filter      = "${local.flush_done} AND jsonPayload.hub_unavailable!=\"\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_logging_metric" "hub_errors" {
  project     = var.project_id
  name        = "${local.metric_prefix}_hub_errors"
  description = "Failed Hub calls: retried ones, imports left pending (unknown outcome or Hub down), a Hub that does not answer, rejected assets (400)"
  filter      = "${local.flush_logs} AND (jsonPayload.message=\"Hub call failed; retrying\" OR jsonPayload.message=\"manifest left pending\" OR jsonPayload.message=\"the Hub does not answer; nothing pulled this time\" OR jsonPayload.message=\"the Hub rejected an asset\")"

  # The status leads the reason text ("503 on POST /v2/..."); a call that got no answer names
  # its failure instead ("ConnectionError on ...", "read timeout on ...").
  label_extractors = {
    status  = "REGEXP_EXTRACT(jsonPayload.reason, \"([0-9]{3}|[A-Za-z]+Error|[A-Za-z]+Timeout|read timeout) on [A-Z]+ /\")"
    message = "EXTRACT(jsonPayload.message)"
  }

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "status"
      value_type  = "STRING"
      description = "HTTP status, or the failure of a call that got no answer (empty for rejected assets: 400)"
    }
    labels {
      key         = "message"
      value_type  = "STRING"
      description = "Which log line"
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_logging_metric" "dead_lettered" {
  project     = var.project_id
  name        = "${local.metric_prefix}_dead_lettered"
  description = "Messages the flush put on the dead-letter topic (undecodable, or rejected by the Hub)"
  filter      = "${local.flush_logs} AND severity=ERROR AND jsonPayload.message=~\"^dead-lettered\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [time_sleep.apis_enabled]
}

# The flush's line while no Hub storage integration reads the landing bucket (hub_storage_id empty;
# hub_import/core/bucket_storage.py, WAITING_PREFIX): one a flush, nothing pulled meanwhile.
resource "google_logging_metric" "storage_waiting" {
  project     = var.project_id
  name        = "${local.metric_prefix}_storage_waiting"
  description = "Flushes that pulled nothing because no Hub storage integration reads the landing bucket yet"
  filter      = "${local.flush_logs} AND jsonPayload.message=~\"^waiting for a Hub storage integration for bucket\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [time_sleep.apis_enabled]
}

# A new log-based metric is unknown to alert policies for a while ("If a metric was created
# recently, it could take up to 10 minutes to become available": terraform-provider-google #11102).
# A metric replaced (its id unknown until then) is waited for again before the policies.
resource "time_sleep" "log_metrics_known" {
  create_duration = "600s"
  triggers = {
    assets_sent     = google_logging_metric.assets_sent.id
    flush_seconds   = google_logging_metric.flush_seconds.id
    hub_unreachable = google_logging_metric.hub_unreachable.id
    hub_errors      = google_logging_metric.hub_errors.id
    dead_lettered   = google_logging_metric.dead_lettered.id
    storage_waiting = google_logging_metric.storage_waiting.id
    deletions_held  = google_logging_metric.deletions_held.id
    sweep_missed    = google_logging_metric.sweep_missed.id
    sweep_failed    = google_logging_metric.sweep_failed.id
  }
}

resource "google_monitoring_notification_channel" "email" {
  count        = length(var.alert_emails)
  project      = var.project_id
  display_name = "${var.name_prefix} alerts: ${var.alert_emails[count.index]}"
  type         = "email"
  labels = {
    email_address = var.alert_emails[count.index]
  }
  depends_on = [time_sleep.apis_enabled]
}

resource "google_monitoring_alert_policy" "oldest_message" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: files wait too long for the Hub"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "oldest unacked file event older than ${var.alert_oldest_message_seconds} s"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.flush.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_oldest_message_seconds
      duration        = "60s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content = "Files landed but have not reached the Hub. Look at the flush's logs and `hub-import status`: the Hub down or refusing the key, a failing flush, or a backlog larger than the Hub's rate limit drains."
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: assets dead-lettered"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "the flush dead-lettered a message"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.dead_lettered.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  conditions {
    display_name = "Pub/Sub gave up on a message after its delivery attempts"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.flush.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/dead_letter_message_count\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  documentation {
    content = "The Hub rejected assets, messages could not be decoded, or a message ran out of delivery attempts. See `hub-import status`, the failed manifests in the state bucket and the ${google_pubsub_subscription.dead_letter.name} subscription; fix, then `hub-import replay --failed`."
  }

  depends_on = [time_sleep.log_metrics_known]
}

resource "google_monitoring_alert_policy" "hub_unreachable" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: the Hub is unreachable"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "${var.alert_hub_unreachable_flushes} flushes found the Hub unreachable"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.hub_unreachable.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_hub_unreachable_flushes - 1
      duration        = "0s"
      aggregations {
        alignment_period     = "${(var.alert_hub_unreachable_flushes + 1) * 60}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content = "Each flush asks the Hub first and pulls nothing while it does not answer, so files wait safely in the queue (7 days). Check the Hub's status, the API key (`hub-import check`) and hub_api_url."
  }

  depends_on = [time_sleep.log_metrics_known]
}

resource "google_monitoring_alert_policy" "storage_waiting" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: waiting for a Hub storage integration"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "the flush waits for a Hub storage integration for gs://${local.landing_bucket}"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.storage_waiting.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content = "No Hub storage integration reads gs://${local.landing_bucket} yet, so the flush pulls nothing: files wait in the subscription (7 days) and go in on their own once it exists. Create it in the Hub (Organization > Storages, type GCS, the landing bucket); nothing to re-apply. `python -m hub_import storages` lists the integrations, `python -m hub_import status` says what the flush found."
  }

  depends_on = [time_sleep.log_metrics_known]
}
