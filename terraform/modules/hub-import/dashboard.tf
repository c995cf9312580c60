# One Cloud Monitoring dashboard: the queue, what reached the Hub, what failed, how long flushes take.

locals {
  subscription_filter = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.flush.name}\""
  user_metric         = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user"

  dashboard_widgets = [
    {
      title = "Backlog: file events waiting for a flush"
      xyChart = {
        dataSets = [{
          plotType = "LINE"
          timeSeriesQuery = { timeSeriesFilter = {
            filter      = "${local.subscription_filter} AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
            aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_MAX" }
          } }
        }]
      }
    },
    {
      title = "Age of the oldest unacked file event (s)"
      xyChart = {
        dataSets = [{
          plotType = "LINE"
          timeSeriesQuery = { timeSeriesFilter = {
            filter      = "${local.subscription_filter} AND metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
            aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_MAX" }
          } }
        }]
        thresholds = [{ value = var.alert_oldest_message_seconds, label = "alert" }]
      }
    },
    {
      title = "Assets sent to the Hub (per 5 minutes)"
      xyChart = {
        dataSets = [{
          plotType = "STACKED_BAR"
          # The sum of a distribution's values is only reachable through PromQL (its _sum series).
          timeSeriesQuery = {
            prometheusQuery = "sum(increase(logging_googleapis_com:user_${google_logging_metric.assets_sent.name}_sum{monitored_resource=\"cloud_run_revision\"}[5m]))"
          }
        }]
      }
    },
    {
      title = "Hub errors by status"
      xyChart = {
        dataSets = [{
          plotType = "STACKED_BAR"
          timeSeriesQuery = { timeSeriesFilter = {
            filter = "${local.user_metric}/${google_logging_metric.hub_errors.name}\""
            aggregation = {
              alignmentPeriod    = "300s"
              perSeriesAligner   = "ALIGN_SUM"
              crossSeriesReducer = "REDUCE_SUM"
              groupByFields      = ["metric.label.status", "metric.label.message"]
            }
          } }
        }]
      }
    },
    {
      title = "Dead letters"
      xyChart = {
        dataSets = [
          {
            plotType       = "STACKED_BAR"
            legendTemplate = "dead-lettered by the flush"
            timeSeriesQuery = { timeSeriesFilter = {
              filter      = "${local.user_metric}/${google_logging_metric.dead_lettered.name}\""
              aggregation = { alignmentPeriod = "300s", perSeriesAligner = "ALIGN_SUM", crossSeriesReducer = "REDUCE_SUM" }
            } }
          },
          {
            plotType       = "STACKED_BAR"
            legendTemplate = "out of delivery attempts"
            timeSeriesQuery = { timeSeriesFilter = {
              filter      = "${local.subscription_filter} AND metric.type=\"pubsub.googleapis.com/subscription/dead_letter_message_count\""
              aggregation = { alignmentPeriod = "300s", perSeriesAligner = "ALIGN_SUM" }
            } }
          },
        ]
      }
    },
    {
      title = "Flush duration (s): median and 95th percentile"
      xyChart = {
        dataSets = [for p in ["50", "95"] : {
          plotType       = "LINE"
          legendTemplate = "p${p}"
          timeSeriesQuery = { timeSeriesFilter = {
            filter      = "${local.user_metric}/${google_logging_metric.flush_seconds.name}\""
            aggregation = { alignmentPeriod = "300s", perSeriesAligner = "ALIGN_DELTA", crossSeriesReducer = "REDUCE_PERCENTILE_${p}" }
          } }
        }]
      }
    },
    {
      title = "Flushes that found the Hub unreachable"
      xyChart = {
        dataSets = [{
          plotType = "STACKED_BAR"
          timeSeriesQuery = { timeSeriesFilter = {
            filter      = "${local.user_metric}/${google_logging_metric.hub_unreachable.name}\""
            aggregation = { alignmentPeriod = "300s", perSeriesAligner = "ALIGN_SUM", crossSeriesReducer = "REDUCE_SUM" }
          } }
        }]
      }
    },
  ]
}

resource "google_monitoring_dashboard" "hub_import" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "${var.name_prefix}: files into Ango Hub"
    mosaicLayout = {
      columns = 48
      # The API drops a position of 0 (its default) from what it stores, so a 0 written here
      # would show as a change on every plan: positions are written only when not 0.
      tiles = [for i, w in local.dashboard_widgets : merge(
        { width = 24, height = 16, widget = w },
        (i % 2) * 24 == 0 ? {} : { xPos = (i % 2) * 24 },
        floor(i / 2) * 16 == 0 ? {} : { yPos = floor(i / 2) * 16 },
      )]
    }
  })

  depends_on = [time_sleep.log_metrics_known]
}
