# One service account per job, each bound on the one resource it needs. Project-level grants:
# the two Eventarc's Cloud Storage triggers require, and the build's log writing and source
# reading (the latter conditioned to the function-source buckets).

resource "google_service_account" "ingest" {
  project      = var.project_id
  account_id   = "${local.short}-ingest"
  display_name = "hub-import ingest function"
  depends_on   = [time_sleep.apis_enabled]
}

resource "google_service_account" "flush" {
  project      = var.project_id
  account_id   = "${local.short}-flush"
  display_name = "hub-import flush function"
  depends_on   = [time_sleep.apis_enabled]
}

resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = "${local.short}-trigger"
  display_name = "hub-import Eventarc trigger"
  depends_on   = [time_sleep.apis_enabled]
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${local.short}-sched"
  display_name = "hub-import Cloud Scheduler caller"
  depends_on   = [time_sleep.apis_enabled]
}

# Builds run as this account, not the Compute default one (which has no roles in new projects
# and in organisations that block default grants).
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${local.short}-build"
  display_name = "hub-import function builds"
  depends_on   = [time_sleep.apis_enabled]
}

resource "google_service_account" "hub_reader" {
  count        = var.create_hub_reader ? 1 : 0
  project      = var.project_id
  account_id   = "${local.short}-hub"
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

resource "google_secret_manager_secret_iam_member" "flush_reads_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.hub_api_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.flush.email}"
}

# -- Eventarc: the trigger invokes the ingest service -------------------------------------------
resource "google_cloud_run_service_iam_member" "trigger_invokes_ingest" {
  count    = local.deploy_functions ? 1 : 0
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.ingest[0].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}

# Required by Eventarc for Cloud Storage direct events; it has no narrower scope.
resource "google_project_iam_member" "trigger_receives_events" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}

# Cloud Storage publishes the bucket's events through Pub/Sub as its service agent. One grant per
# project: a second instance of this module in the same project leaves it to the first.
resource "google_project_iam_member" "gcs_agent_publishes_events" {
  count   = var.grant_gcs_agent_publisher ? 1 : 0
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

# -- the scheduler invokes the flush service ----------------------------------------------------
resource "google_cloud_run_service_iam_member" "scheduler_invokes_flush" {
  count    = local.deploy_functions ? 1 : 0
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.flush[0].service_config[0].service
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
