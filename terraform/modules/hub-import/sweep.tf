# The sweep: files whose event was lost (hub_import/ingest/sweep.py), found by listing the landing
# bucket every sweep_every_minutes and queued as their event would have; none at 0. The same source
# as the other functions, an account of its own (it reads the landing bucket and the ledger, writes
# only its own documents, publishes to the topic), a scheduler job, an alert when it finds any
# (events are being lost), and one when it fails (lost events are not being found).

# Its settings (SWEEP_EVERY_MINUTES, SWEEP_GRACE_SECONDS), here rather than in settings.tf.
variable "sweep_every_minutes" {
  type        = number
  description = "How often the sweep lists the landing bucket for files whose event was lost (Eventarc gave up, a trigger was being replaced) and queues them; 0: no sweep (no sweep function, no job). Cloud Scheduler takes cron: under 60, at the minutes of each hour divisible by it; from 60, at minute 0 of the hours of each day divisible by it in whole hours."
  default     = 60

  validation {
    condition     = var.sweep_every_minutes >= 0 && var.sweep_every_minutes <= 1440 && floor(var.sweep_every_minutes) == var.sweep_every_minutes
    error_message = "sweep_every_minutes must be a whole number from 0 (no sweep) to 1440 (once a day)."
  }
}

variable "sweep_grace_seconds" {
  type        = number
  description = "The sweep leaves a file this young to its event (which may still be on its way)."
  default     = 600

  validation {
    condition     = var.sweep_grace_seconds >= 0 && var.sweep_grace_seconds <= 86400
    error_message = "sweep_grace_seconds must be from 0 to 86400."
  }
}

locals {
  sweep = var.sweep_every_minutes > 0 ? 1 : 0
  # The sweep stops at the flush's budget (plus a page and the publishes it waits for).
  sweep_timeout_seconds = var.flush_budget_seconds + 60
  # Cron has no "every N minutes" across the hour: under 60, the minutes of each hour divisible by
  # N; from 60, minute 0 of the hours divisible by N in whole hours. (0: no job.)
  sweep_schedule = var.sweep_every_minutes < 60 ? "*/${max(var.sweep_every_minutes, 1)} * * * *" : "0 */${floor(var.sweep_every_minutes / 60)} * * *"
  # The one line of every sweep (hub_import/ingest/sweep.py, Sweep._tell), with its counts.
  sweep_done = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.sweep_name}\" AND jsonPayload.message=\"sweep done\""
}

resource "google_service_account" "sweep" {
  count        = local.sweep
  project      = var.project_id
  account_id   = local.account_ids.sweep
  display_name = "hub-import sweep function"
  depends_on   = [time_sleep.apis_enabled]
}

# -- sweep: list the landing bucket, read the ledger, keep its own cursor, publish to the topic -------
resource "google_storage_bucket_iam_member" "sweep_lists_landing" {
  count  = local.sweep
  bucket = local.landing_bucket
  role   = "roles/storage.objectViewer" # list, and read image headers as ingest does
  member = "serviceAccount:${google_service_account.sweep[0].email}"
}

resource "google_pubsub_topic_iam_member" "sweep_publishes" {
  count   = local.sweep
  project = var.project_id
  topic   = google_pubsub_topic.assets.id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.sweep[0].email}"
}

resource "google_storage_bucket_iam_member" "sweep_reads_ledger" {
  count  = local.sweep
  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.sweep[0].email}"
}

# It writes only its own documents (hub_import/state/sweep_state.py: LEDGER_PREFIX/sweep/), never a
# ledger record or a manifest.
resource "google_storage_bucket_iam_member" "sweep_keeps_its_cursor" {
  count  = local.sweep
  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.sweep[0].email}"

  condition {
    title      = "the sweep's own documents only"
    expression = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.state.name}/objects/${local.function_env.LEDGER_PREFIX}sweep/\")"
  }
}

resource "google_cloud_run_service_iam_member" "scheduler_invokes_sweep" {
  count    = local.sweep
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.sweep[0].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

# The sweep (main.py `sweep`): the same source, run every sweep_every_minutes by its scheduler job
# (scheduler.tf), as an account of its own that reads the landing bucket and the ledger, writes
# only its cursor, and publishes to the topic. It holds nothing the flush waits on.
resource "google_cloudfunctions2_function" "sweep" {
  # checkov:skip=CKV_GCP_124: Cloud Scheduler's HTTP calls come from outside the VPC; only the scheduler's account may invoke it
  count    = local.sweep
  project  = var.project_id
  name     = local.sweep_name
  location = var.region

  build_config {
    runtime           = local.artifact.runtime
    entry_point       = "sweep"
    service_account   = google_service_account.build.id
    docker_repository = google_artifact_registry_repository.functions.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory = "512M"
    # Each run stops at the flush's budget and resumes at its cursor next time.
    timeout_seconds                  = local.sweep_timeout_seconds
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    ingress_settings                 = var.flush_ingress
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.sweep[0].email
    environment_variables            = local.function_env
  }

  depends_on = [time_sleep.grants_propagated]
}

# The sweep (files whose event was lost), every sweep_every_minutes; none at 0.
resource "google_cloud_scheduler_job" "sweep" {
  count            = local.sweep
  project          = var.project_id
  name             = local.sweep_name
  region           = var.region
  schedule         = local.sweep_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${local.sweep_timeout_seconds + 15}s"

  retry_config {
    retry_count = 0 # the next run resumes at the cursor
  }

  http_target {
    uri         = google_cloudfunctions2_function.sweep[0].service_config[0].uri
    http_method = "POST"

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.sweep[0].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_service_iam_member.scheduler_invokes_sweep]
}

# Sweeps that queued files no event had brought in: events are being lost.
resource "google_logging_metric" "sweep_missed" {
  project     = var.project_id
  name        = "${local.metric_prefix}_sweep_missed"
  description = "Sweeps that found files whose event never came, and queued them (the queued field of its line)"
  filter      = "${local.sweep_done} AND jsonPayload.queued>0"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_monitoring_alert_policy" "sweep_missed" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: events are being lost"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "a sweep found files whose event never came"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.sweep_missed.name}\" AND resource.type=\"cloud_run_revision\""
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
    content = "The sweep found files in gs://${local.landing_bucket} that no event had brought in, and queued them: they reach the Hub with the next flushes, but events are being lost. Check the trigger: the Eventarc trigger of ${var.name_prefix}-ingest exists and is active, the ingest function's errors and revisions, the Cloud Storage service agent's Pub/Sub publisher grant, quotas. The sweep's log line (\"sweep done\") counts them; `python -m hub_import status` shows the last sweep, `python -m hub_import trace gs://BUCKET/NAME` says a file came in by the sweep."
  }

  depends_on = [time_sleep.log_metrics_known]
}

# Sweeps that failed (the "sweep done" line at ERROR, with its error: a refused publish, listing or
# state bucket): the safety net for lost events is down. Its own metric and alert, not sweep_missed's
# (events lost: check the trigger); a pass that never completes (each run out of budget) is `status`'s.
resource "google_logging_metric" "sweep_failed" {
  project     = var.project_id
  name        = "${local.metric_prefix}_sweep_failed"
  description = "Sweeps that failed: their line (\"sweep done\") at ERROR, its error field saying how"
  filter      = "${local.sweep_done} AND severity=ERROR"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_monitoring_alert_policy" "sweep_failed" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: the sweep fails"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "a sweep failed"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.sweep_failed.name}\" AND resource.type=\"cloud_run_revision\""
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
    content = "A sweep of gs://${local.landing_bucket} failed: files whose event was lost are not being found while it fails (the next run resumes at its cursor). Check the sweep function's logs (${local.sweep_name}): its \"sweep done\" line at ERROR says how in its error field (a refused publish, listing or state bucket). Then its account's grants (${local.account_ids.sweep}@${var.project_id}.iam.gserviceaccount.com): storage.objects.list on the landing bucket (roles/storage.objectViewer), roles/pubsub.publisher on the topic ${google_pubsub_topic.assets.name} (and its quota), and on the state bucket ${google_storage_bucket.state.name} roles/storage.objectViewer and roles/storage.objectUser under ${local.function_env.LEDGER_PREFIX}sweep/; `terraform apply` restores grants removed by hand. `python -m hub_import status` shows the last sweep's error, and says when no pass has completed for over 3 x sweep_every_minutes + 1 hour; `python -m hub_import sweep` runs one by hand."
  }

  depends_on = [time_sleep.log_metrics_known]
}
