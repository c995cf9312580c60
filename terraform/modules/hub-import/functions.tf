# One source zip (main.py, requirements.txt, hub_import/), two functions, built by an account of
# their own into a repository of their own.

# The zip of artifact.tf's files. Its bytes depend on their names and contents alone (the archive
# provider writes `source` entries sorted, with no timestamp), and output_file_mode fixes the
# mode, so a plan made on one machine applies on another without rebuilding the functions.
data "archive_file" "source" {
  type             = "zip"
  output_path      = "${path.module}/build/${var.name_prefix}-source.zip"
  output_file_mode = "0644"

  dynamic "source" {
    for_each = local.artifact_files
    content {
      content  = file("${local.source_dir}/${source.value}")
      filename = source.value
    }
  }
}

# The zip's md5 in the name: a code change uploads a new object, and so redeploys.
resource "google_storage_bucket_object" "source" {
  name   = "source-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

# The build's images; the build account may push here and nowhere else.
resource "google_artifact_registry_repository" "functions" {
  # checkov:skip=CKV_GCP_84: holds only the two functions' images, built from this repository's public code; Google-managed encryption suffices
  project                = var.project_id
  location               = var.region
  repository_id          = "${var.name_prefix}-functions"
  format                 = "DOCKER"
  description            = "Images of the hub-import functions (${var.name_prefix})"
  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 5
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s" # 30 days; the five newest are kept regardless
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_cloudfunctions2_function" "ingest" {
  project  = var.project_id
  name     = "${var.name_prefix}-ingest"
  location = var.region

  build_config {
    runtime           = local.artifact.runtime
    entry_point       = "on_object_finalized"
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

  depends_on = [time_sleep.grants_propagated]
}

# With on_delete = "delete", the ingest function also takes the landing bucket's deleted objects,
# and its archived ones (a versioned bucket keeps a deleted object as a noncurrent version). A
# function has one event_trigger of its own, so these are Eventarc triggers on its Cloud Run
# service: the same account, the same invoker grant, and Eventarc's default of retrying a failed
# delivery (as the function's RETRY_POLICY_RETRY).
resource "google_eventarc_trigger" "deleted" {
  for_each = var.on_delete == "delete" ? toset(["deleted", "archived"]) : toset([])
  project  = var.project_id
  name     = "${var.name_prefix}-${each.key}"
  location = lower(local.landing_location)

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.storage.object.v1.${each.key}"
  }
  matching_criteria {
    attribute = "bucket"
    value     = local.landing_bucket
  }

  # Eventarc wants the Cloud Run service's name; service_config[0].service is its full resource
  # path (projects/P/locations/R/services/NAME), so the name is its last segment.
  destination {
    cloud_run_service {
      service = reverse(split("/", google_cloudfunctions2_function.ingest.service_config[0].service))[0]
      region  = var.region
    }
  }

  service_account         = google_service_account.trigger.email
  event_data_content_type = "application/json"

  depends_on = [time_sleep.grants_propagated, google_cloud_run_service_iam_member.trigger_invokes_ingest]
}

resource "google_cloudfunctions2_function" "flush" {
  # checkov:skip=CKV_GCP_124: Cloud Scheduler's HTTP calls come from outside the VPC; only the scheduler's account may invoke it
  project  = var.project_id
  name     = local.flush_name
  location = var.region

  build_config {
    runtime           = local.artifact.runtime
    entry_point       = "flush"
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
    timeout_seconds  = var.flush_budget_seconds + var.hub_timeout_seconds + 30
    # One flush at a time: each paces its calls at the Hub's whole rate limit for this key.
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    ingress_settings                 = var.flush_ingress # what each means for Cloud Scheduler: README, Enterprise organizations
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.flush.email
    environment_variables            = local.function_env

    # The version's number, not "latest": Cloud Run reads a secret when a revision deploys, so a
    # new key version changes this and deploys a new revision, with no wait for a cold start.
    secret_environment_variables {
      key        = "HUB_API_KEY"
      project_id = var.project_id
      secret     = google_secret_manager_secret.hub_api_key.secret_id
      version    = google_secret_manager_secret_version.hub_api_key.version
    }
  }

  depends_on = [time_sleep.grants_propagated, google_secret_manager_secret_iam_member.flush_reads_key]
}
