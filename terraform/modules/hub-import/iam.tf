# One service account per job, each bound on the one resource it needs. Project-level grants:
# Eventarc's trigger account's, and the build's log writing and source reading (the latter
# conditioned to the function-source buckets). The Cloud Storage service agent's is the root's.

locals {
  # Account ids are 6 to 30 characters. A prefix of up to 16 is used whole (the ids of earlier
  # releases, so an upgrade replaces no account); a longer one is cut to 15 and a short hash of
  # the whole prefix is added, so that hub-import-scans-eu and hub-import-scans-us differ.
  short       = length(var.name_prefix) <= 16 ? var.name_prefix : "${substr(var.name_prefix, 0, 15)}-${substr(sha256(var.name_prefix), 0, 6)}"
  account_ids = { for job in ["ingest", "flush", "trigger", "sched", "build", "hub", "sweep"] : job => "${local.short}-${job}" }
}

resource "google_service_account" "ingest" {
  project      = var.project_id
  account_id   = local.account_ids.ingest
  display_name = "hub-import ingest function"
  depends_on   = [time_sleep.apis_enabled]

  # Checked once, here, for every account of the instance.
  lifecycle {
    precondition {
      condition     = alltrue([for id in values(local.account_ids) : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", id))])
      error_message = "Service-account ids must be 6 to 30 lowercase letters, digits or hyphens, starting with a letter and ending with a letter or digit: ${join(", ", values(local.account_ids))}."
    }
  }
}

resource "google_service_account" "flush" {
  project      = var.project_id
  account_id   = local.account_ids.flush
  display_name = "hub-import flush function"
  depends_on   = [time_sleep.apis_enabled]
}

resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = local.account_ids.trigger
  display_name = "hub-import Eventarc trigger"
  depends_on   = [time_sleep.apis_enabled]
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = local.account_ids.sched
  display_name = "hub-import Cloud Scheduler caller"
  depends_on   = [time_sleep.apis_enabled]
}

# Builds run as this account, not the Compute default one (which has no roles in new projects
# and in organisations that block default grants).
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = local.account_ids.build
  display_name = "hub-import function builds"
  depends_on   = [time_sleep.apis_enabled]
}

resource "google_service_account" "hub_reader" {
  count        = var.create_hub_reader ? 1 : 0
  project      = var.project_id
  account_id   = local.account_ids.hub
  display_name = "Ango Hub storage integration (reads the landing bucket)"
  depends_on   = [time_sleep.apis_enabled]
}

# -- the build: the roles Google documents for a build account, each as narrow as it goes -------
resource "google_project_iam_member" "build_writes_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter" # build logs; granted on projects only
  member  = "serviceAccount:${google_service_account.build.email}"
}

resource "google_artifact_registry_repository_iam_member" "build_pushes_images" {
  project    = var.project_id
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

locals {
  # Ours, and the one Cloud Functions copies each deployed source into.
  source_buckets = [google_storage_bucket.source.name, "gcf-v2-sources-${data.google_project.this.number}-${var.region}"]
}

# Object Admin, as Google's page on the build service account lists it ("for retrieving the function
# source from the Cloud Storage bucket, and to store build images"); objectViewer alone is not
# documented to be enough. The condition keeps it to the two source buckets (test_terraform.py).
resource "google_project_iam_member" "build_reads_sources" {
  project = var.project_id
  role    = "roles/storage.objectAdmin"
  member  = "serviceAccount:${google_service_account.build.email}"

  condition {
    title      = "function sources only"
    expression = join(" || ", [for b in local.source_buckets : "resource.name == \"projects/_/buckets/${b}\" || resource.name.startsWith(\"projects/_/buckets/${b}/\")"])
  }
}

# -- ingest: read object headers, publish to the topic ----------------------------------------
resource "google_storage_bucket_iam_member" "ingest_reads_landing" {
  bucket = local.landing_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.ingest.email}"
}

resource "google_pubsub_topic_iam_member" "ingest_publishes" {
  project = var.project_id
  topic   = google_pubsub_topic.assets.id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.ingest.email}"
}

# -- flush: drain the subscription, dead-letter, publish results, keep state, read the key -------------------------
resource "google_pubsub_subscription_iam_member" "flush_subscribes" {
  project      = var.project_id
  subscription = google_pubsub_subscription.flush.id
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.flush.email}"
}

resource "google_pubsub_topic_iam_member" "flush_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.flush.email}"
}

resource "google_pubsub_topic_iam_member" "flush_publishes_results" {
  count   = var.publish_results ? 1 : 0
  project = var.project_id
  topic   = google_pubsub_topic.results[0].id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.flush.email}"
}

resource "google_storage_bucket_iam_member" "flush_keeps_state" {
  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.flush.email}"
}

# With on_delete = "delete" the flush asks the landing bucket, right before a Hub delete, whether
# the deleted file is live again (uploaded since): it reads object metadata there, nothing more.
resource "google_storage_bucket_iam_member" "flush_reads_landing" {
  count  = var.on_delete == "delete" ? 1 : 0
  bucket = local.landing_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.flush.email}"
}

# The backlog in each flush's health record (`status`'s "N files wait"): Pub/Sub's metrics, read
# from Cloud Monitoring (flush/backlog.py). Read-only, and metrics only: no logs, no data.
resource "google_project_iam_member" "flush_reads_backlog" {
  project = var.project_id
  role    = "roles/monitoring.viewer"
  member  = "serviceAccount:${google_service_account.flush.email}"
}

resource "google_secret_manager_secret_iam_member" "flush_reads_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.hub_api_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.flush.email}"
}

# -- Eventarc: the trigger invokes the ingest service -------------------------------------------
resource "google_cloud_run_service_iam_member" "trigger_invokes_ingest" {
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.ingest.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}

# Required by Eventarc for Cloud Storage direct events; it has no narrower scope.
resource "google_project_iam_member" "trigger_receives_events" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}

# -- the scheduler invokes the flush service ----------------------------------------------------
resource "google_cloud_run_service_iam_member" "scheduler_invokes_flush" {
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.flush.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

# -- Pub/Sub's own agent moves undeliverable messages to the dead-letter topic -------------------
locals {
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.id
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_subscribes" {
  project      = var.project_id
  subscription = google_pubsub_subscription.flush.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# -- the Hub's storage integration reads the landing bucket, nothing else --------------------------
resource "google_storage_bucket_iam_member" "hub_reads_landing" {
  count  = var.create_hub_reader ? 1 : 0
  bucket = local.landing_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.hub_reader[0].email}"
}
