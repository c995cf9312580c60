# Cloud Scheduler calls the flush every minute with an OIDC token (once the flush exists: functions.tf).

resource "google_cloud_scheduler_job" "flush" {
  count            = local.deploy_functions ? 1 : 0
  project          = var.project_id
  name             = local.flush_name
  region           = var.region
  schedule         = var.flush_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${var.flush_budget_seconds + var.hub_timeout_seconds + 30}s"

  retry_config {
    retry_count = 0 # the next run comes within the minute
  }

  http_target {
    uri         = google_cloudfunctions2_function.flush[0].service_config[0].uri
    http_method = "POST"

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.flush[0].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_service_iam_member.scheduler_invokes_flush]
}
