# One source zip (main.py, requirements.txt, hub_import/), two functions.

data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.module}/build/source.zip"

  source {
    content  = file("${path.module}/../main.py")
    filename = "main.py"
  }
  source {
    content  = file("${path.module}/../requirements.txt")
    filename = "requirements.txt"
  }
  dynamic "source" {
    for_each = fileset("${path.module}/../hub_import", "*.py")
    content {
      content  = file("${path.module}/../hub_import/${source.value}")
      filename = "hub_import/${source.value}"
    }
  }
}

# The zip's md5 in the name: a code change uploads a new object, and so redeploys.
resource "google_storage_bucket_object" "source" {
  name   = "source-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

resource "google_cloudfunctions2_function" "ingest" {
  name     = "${var.name_prefix}-ingest"
  location = var.region

  build_config {
    runtime     = "python312"
    entry_point = "on_object_finalized"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = "256M"
    timeout_seconds                  = 60
    max_instance_count               = 20
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.ingest.email
    environment_variables            = local.function_env
  }

  event_trigger {
    trigger_region        = lower(local.landing_location)
    event_type            = "google.cloud.storage.object.v1.finalized"
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
    event_filters {
      attribute = "bucket"
      value     = local.landing_bucket
    }
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.gcs_agent_publishes_events,
    google_project_iam_member.trigger_receives_events,
  ]
}

resource "google_cloudfunctions2_function" "flush" {
  # checkov:skip=CKV_GCP_124: Cloud Scheduler's HTTP calls come from outside the VPC; only the scheduler's account may invoke it
  name     = "${var.name_prefix}-flush"
  location = var.region

  build_config {
    runtime     = "python312"
    entry_point = "flush"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = "512M"
    timeout_seconds                  = var.flush_budget_seconds + 60
    max_instance_count               = 2
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_ALL" # Cloud Scheduler calls from outside the VPC; IAM guards it
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.flush.email
    environment_variables            = local.function_env

    secret_environment_variables {
      key        = "HUB_API_KEY"
      project_id = var.project_id
      secret     = google_secret_manager_secret.hub_api_key.secret_id
      version    = "latest"
    }
  }

  depends_on = [google_project_service.apis, google_secret_manager_secret_iam_member.flush_reads_key]
}
