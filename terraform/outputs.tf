# The outputs the README names; each is the module's (its outputs.tf says what each holds).
output "check_command" {
  description = "Check the deployment end to end: eval \"$(terraform output -raw check_command)\", with hub-import on the PATH (README, Operate) and HUB_API_KEY exported in that shell."
  value       = module.hub_import.check_command
}

output "backfill_command" {
  description = "Queue the files that landed before the functions were deployed: eval \"$(terraform output -raw backfill_command)\", with hub-import on the PATH (README, Operate)."
  value       = module.hub_import.backfill_command
}

output "ingest_function_uri" {
  description = "The ingest function (internal only; Eventarc calls it); null until it is deployed."
  value       = module.hub_import.ingest_function_uri
}

output "flush_function_uri" {
  description = "The flush function (Cloud Scheduler calls it with an OIDC token); null until it is deployed."
  value       = module.hub_import.flush_function_uri
}

output "results_topic" {
  description = "The topic with one message per settled manifest (empty when publish_results is false); subscribe to it."
  value       = module.hub_import.results_topic
}

output "hub_reader_key_command" {
  description = "Make a key for the Hub's storage integration (upload it in the Hub UI, then delete the file)."
  value       = module.hub_import.hub_reader_key_command
}

output "hub_api_key_secret_version" {
  description = "The Secret Manager version holding the Hub API key (its name, never its value): hub-import --api-key-secret takes it."
  value       = module.hub_import.hub_api_key_secret_version
}

output "dashboard_url" {
  description = "The Cloud Monitoring dashboard."
  value       = module.hub_import.dashboard_url
}

output "hub_import" {
  description = "Everything the module exports: buckets, queue, functions, the key's secret version (never its value), alerts."
  value       = module.hub_import
}
