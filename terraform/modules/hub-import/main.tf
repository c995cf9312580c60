# The APIs, the waits Google documents, and the settings both functions share.

locals {
  apis = [
    "cloudresourcemanager.googleapis.com", # project lookups and project-level IAM
    "iam.googleapis.com",                  # service accounts
    "cloudfunctions.googleapis.com",
    "run.googleapis.com",
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "eventarc.googleapis.com",
    "pubsub.googleapis.com",
    "cloudscheduler.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
  ]

  # The trigger must be in the landing bucket's location: for an existing bucket, its real one.
  new_landing_location = upper(coalesce(var.landing_bucket_location, var.region))
  landing_location     = var.create_landing_bucket ? local.new_landing_location : data.google_storage_bucket.landing[0].location
  landing_bucket       = var.create_landing_bucket ? google_storage_bucket.landing[0].name : data.google_storage_bucket.landing[0].name
  flush_name           = "${var.name_prefix}-flush"
  sweep_name           = "${var.name_prefix}-sweep"

  # Exactly the variables hub_import/core/settings.py reads (tests/terraform checks it); the API key
  # is a secret variable of the flush function only.
  function_env = {
    GOOGLE_CLOUD_PROJECT    = var.project_id
    HUB_API_URL             = var.hub_api_url
    HUB_ALLOW_HTTP          = "false"
    HUB_ALLOW_CUSTOM_HOST   = "false" # hub_api_url is one of the Hub's hosts (its validation)
    HUB_PROJECT_ID          = var.hub_project_id
    HUB_STORAGE_ID          = var.hub_storage_id
    HUB_PUBLIC_BUCKET       = tostring(var.hub_public_bucket)
    HUB_BATCHES             = join(",", var.hub_batches)
    HUB_PRIORITY            = tostring(var.hub_priority)
    HUB_CREATE_BATCHES      = tostring(var.hub_create_batches)
    HUB_ROUTES              = jsonencode(var.hub_routes)
    HUB_METADATA_OVERRIDES  = tostring(var.hub_metadata_overrides)
    HUB_CONTEXT_KEYS        = join(",", var.hub_context_keys)
    MAX_CONTEXT_VALUE_BYTES = tostring(var.max_context_value_bytes)
    MAX_TEMPLATE_BATCHES    = tostring(var.max_template_batches)
    HUB_REQUESTS_PER_MINUTE = tostring(var.hub_requests_per_minute)
    HUB_SETTLE_SECONDS      = tostring(var.hub_settle_seconds)
    HUB_TIMEOUT_SECONDS     = tostring(var.hub_timeout_seconds)
    INCLUDE_GLOBS           = join(",", var.include_globs)
    EXCLUDE_GLOBS           = join(",", var.exclude_globs)
    ALLOWED_EXTENSIONS      = join(",", var.allowed_extensions)
    ALLOWED_CONTENT_TYPES   = join(",", var.allowed_content_types)
    SKIP_EMPTY_OBJECTS      = tostring(var.skip_empty_objects)
    MAX_OBJECT_BYTES        = tostring(var.max_object_bytes)
    URL_TEMPLATE            = var.url_template
    EXTERNAL_ID_TEMPLATE    = var.external_id_template
    PROBE_IMAGE_SIZE        = tostring(var.probe_image_size)
    PROBE_MAX_BYTES         = tostring(var.probe_max_bytes)
    PUBSUB_TOPIC            = google_pubsub_topic.assets.name
    PUBSUB_SUBSCRIPTION     = google_pubsub_subscription.flush.name
    DEAD_LETTER_TOPIC       = google_pubsub_topic.dead_letter.name
    RESULTS_TOPIC           = var.publish_results ? google_pubsub_topic.results[0].name : ""
    LANDING_BUCKET          = local.landing_bucket
    STATE_BUCKET            = google_storage_bucket.state.name
    MANIFEST_PREFIX         = "manifests/"
    LEDGER_PREFIX           = "ledger/"
    MAX_ASSETS_PER_MANIFEST = tostring(var.max_assets_per_manifest)
    FLUSH_BUDGET_SECONDS    = tostring(var.flush_budget_seconds)
    ON_OVERWRITE            = var.on_overwrite
    ON_DELETE               = var.on_delete
    MAX_DELETIONS_PER_HOUR  = tostring(var.max_deletions_per_hour)
    MAX_EVENT_AGE_SECONDS   = tostring(var.max_event_age_seconds)
    SWEEP_EVERY_MINUTES     = tostring(var.sweep_every_minutes)
    SWEEP_GRACE_SECONDS     = tostring(var.sweep_grace_seconds)
    LOG_LEVEL               = var.log_level
    ALERT_CHANNELS          = tostring(length(var.notification_channels) + length(var.alert_emails)) # for check
  }
}

resource "google_project_service" "apis" {
  for_each           = toset(local.apis)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false # other workloads in the project may use them
}

# A just-enabled API can refuse calls for a while ("If you enabled this API recently, wait a few
# minutes for the action to propagate to our systems"). Every other resource waits for this.
# Each wait's triggers name what it waits for: one of them replaced (an API enabled, a grant made
# anew) is waited for again.
resource "time_sleep" "apis_enabled" {
  create_duration = "60s"
  triggers        = { for api, s in google_project_service.apis : api => s.id }
}

# Eventarc's service agent gets its role some minutes after the API is enabled, and IAM grants
# take up to a few minutes to apply; until then creating a Cloud Storage trigger fails with
# "Permission denied while using the Eventarc Service Agent" (terraform-provider-google #25294),
# and a build fails without its account's roles. The functions wait for both, and for the Cloud
# Storage service agent's grant, which the root makes once per project.
resource "time_sleep" "grants_propagated" {
  create_duration = "180s"
  triggers = {
    apis_enabled       = time_sleep.apis_enabled.id
    gcs_agent          = var.gcs_agent_publisher_grant
    trigger_receives   = google_project_iam_member.trigger_receives_events.id
    build_writes_logs  = google_project_iam_member.build_writes_logs.id
    build_reads_source = google_project_iam_member.build_reads_sources.id
    build_pushes       = google_artifact_registry_repository_iam_member.build_pushes_images.id
  }
}

data "google_project" "this" {
  project_id = var.project_id
  depends_on = [time_sleep.apis_enabled]
}
