# Optional: a log-based metric of dead-lettered assets, and an e-mail alert on it.

resource "google_logging_metric" "dead_lettered" {
  name   = "${var.name_prefix}-dead-lettered"
  filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${google_cloudfunctions2_function.flush.name}\" AND severity=ERROR AND jsonPayload.message=~\"^dead-lettered\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == null ? 0 : 1
  display_name = "${var.name_prefix} alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
}

resource "google_monitoring_alert_policy" "dead_lettered" {
  count                 = var.alert_email == null ? 0 : 1
  display_name          = "${var.name_prefix}: assets dead-lettered"
  combiner              = "OR"
  notification_channels = [google_monitoring_notification_channel.email[0].id]

  conditions {
    display_name = "an asset was dead-lettered"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.dead_lettered.name}\" AND resource.type=\"cloud_run_revision\""
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
    content = "The Hub rejected assets, or messages could not be decoded. See `python -m hub_import status` and the failed manifests in the state bucket; fix, then `python -m hub_import replay --failed`."
  }
}
