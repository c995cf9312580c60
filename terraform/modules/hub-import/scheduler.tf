# Cloud Scheduler calls the flush every minute with an OIDC token.
#
# One flush instance, and a flush may run for minutes: Cloud Scheduler never starts a job's next
# execution before its last has ended ("execution n + 1 of a job will not begin until execution n
# has finished", Job.schedule in its API), and an execution ends when the flush answers or at the
# attempt deadline. So the deadline outlasts the flush's timeout: the next call never finds the
# instance still busy (a 429), however long the budget; the schedule then follows the flushes.
locals {
  flush_timeout_seconds      = var.flush_budget_seconds + var.hub_timeout_seconds + 30 # functions.tf: timeout_seconds
  scheduler_deadline_seconds = local.flush_timeout_seconds + 15
}

resource "google_cloud_scheduler_job" "flush" {
  project          = var.project_id
  name             = local.flush_name
  region           = var.region
  schedule         = var.flush_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${local.scheduler_deadline_seconds}s"

  retry_config {
    retry_count = 0 # the next run comes within the minute
  }

  http_target {
    uri         = google_cloudfunctions2_function.flush.service_config[0].uri
    http_method = "POST"

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.flush.service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_service_iam_member.scheduler_invokes_flush]
}
