output "landing_bucket" {
  description = "Where files land."
  value       = local.landing_bucket
}

output "state_bucket" {
  description = "Manifests and the ledger."
  value       = google_storage_bucket.state.name
}

output "topic" {
  description = "The queue between ingest and flush."
  value       = google_pubsub_topic.assets.id
}

output "subscription" {
  description = "The pull subscription the flush drains."
  value       = google_pubsub_subscription.flush.id
}

output "dead_letter_subscription" {
  description = "Inspect what could not be imported."
  value       = google_pubsub_subscription.dead_letter.id
}

output "results_topic" {
  description = "The topic with one message per settled manifest (empty when publish_results is false); subscribe to it."
  value       = var.publish_results ? google_pubsub_topic.results[0].id : ""
}

output "ingest_function_uri" {
  description = "The ingest function (internal only; Eventarc calls it)."
  value       = google_cloudfunctions2_function.ingest.service_config[0].uri
}

output "flush_function_uri" {
  description = "The flush function (Cloud Scheduler calls it with an OIDC token)."
  value       = google_cloudfunctions2_function.flush.service_config[0].uri
}

output "hub_api_key_secret_version" {
  description = "The Secret Manager version holding the Hub API key that the flush function runs with (its name, never its value)."
  value       = google_secret_manager_secret_version.hub_api_key.name
}

output "build_service_account" {
  description = "The account Cloud Build builds both functions as."
  value       = google_service_account.build.email
}

output "dashboard_url" {
  description = "The Cloud Monitoring dashboard."
  value       = "https://console.cloud.google.com/monitoring/dashboards/builder/${element(split("/", google_monitoring_dashboard.hub_import.id), length(split("/", google_monitoring_dashboard.hub_import.id)) - 1)}?project=${var.project_id}"
}

output "alert_policies" {
  description = "The alert policies: files waiting too long, dead letters, the Hub unreachable, no storage integration yet, deletions held, events lost (found by the sweep), the sweep failing."
  value = {
    oldest_message  = google_monitoring_alert_policy.oldest_message.name
    dead_letters    = google_monitoring_alert_policy.dead_letters.name
    hub_unreachable = google_monitoring_alert_policy.hub_unreachable.name
    storage_waiting = google_monitoring_alert_policy.storage_waiting.name
    deletions_held  = google_monitoring_alert_policy.deletions_held.name
    sweep_missed    = google_monitoring_alert_policy.sweep_missed.name
    sweep_failed    = google_monitoring_alert_policy.sweep_failed.name
  }
}

output "hub_reader_service_account" {
  description = "The account for the Hub's GCS storage integration."
  value       = var.create_hub_reader ? google_service_account.hub_reader[0].email : null
}

output "hub_reader_key_command" {
  description = "Make a key for the Hub's storage integration (upload it in the Hub UI, then delete the file)."
  value       = var.create_hub_reader ? "gcloud iam service-accounts keys create hub-reader-key.json --iam-account=${google_service_account.hub_reader[0].email}" : null
}

# The operator's CLI with the functions' settings (never the key), each single-quoted for the
# shell: the routes are JSON and the globs would otherwise expand. `hub-import` is the command
# `pip install .` makes (pyproject.toml; README, Operate); the shell that evals these finds it on
# its PATH, and brings HUB_API_KEY and the Google credentials.
locals {
  cli_env = "env ${join(" ", [for k, v in local.function_env : "${k}='${replace(v, "'", "'\\''")}'"])}"
  cli     = "${local.cli_env} hub-import"
}

output "check_command" {
  description = "Check the deployment end to end: eval \"$(terraform output -raw check_command)\", with hub-import on the PATH and HUB_API_KEY exported in that shell."
  value       = "${local.cli} check"
}

output "backfill_command" {
  description = "Queue the files already in the landing bucket (an existing bucket's files from before this deployment): eval \"$(terraform output -raw backfill_command)\", with hub-import on the PATH."
  value       = "${local.cli} backfill gs://${local.landing_bucket}"
}
