# The deletion guard (on_delete = "delete", max_deletions_per_hour): past the limit in a rolling hour
# the flush holds deletions instead of carrying them out (hub_import/flush/deletion_guard.py), and
# its last line says how many (deletions_held). Someone may have deleted a folder by mistake: a
# person decides, so an alert says so.

resource "google_logging_metric" "deletions_held" {
  project     = var.project_id
  name        = "${local.metric_prefix}_deletions_held"
  description = "Flushes that held deletions past max_deletions_per_hour (deletions_held on the last line)"
  filter      = "${local.flush_done} AND jsonPayload.deletions_held>0"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_monitoring_alert_policy" "deletions_held" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: deletions held"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "the flush held deletions past ${var.max_deletions_per_hour} an hour"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.deletions_held.name}\" AND resource.type=\"cloud_run_revision\""
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

  documentation {
    content = "More files left gs://${local.landing_bucket} within an hour than max_deletions_per_hour (${var.max_deletions_per_hour}) allows, so the rest of their deletions are held: their assets stay in the Hub. Someone may have deleted a folder by mistake. `python -m hub_import deletions` lists them; `deletions --approve` carries them out, `deletions --discard` keeps the assets."
  }

  depends_on = [time_sleep.log_metrics_known]
}
