output "check_command" {
  description = "Check the deployment end to end: eval \"$(terraform output -raw check_command)\", with HUB_API_KEY exported in that shell."
  value       = module.hub_import.check_command
}

output "backfill_command" {
  description = "Queue the files that landed before the functions were deployed: eval \"$(terraform output -raw backfill_command)\"."
  value       = module.hub_import.backfill_command
}

output "hub_reader_key_command" {
  description = "Make a key for the Hub's storage integration (upload it in the Hub UI, then delete the file)."
  value       = module.hub_import.hub_reader_key_command
}

output "dashboard_url" {
  description = "The Cloud Monitoring dashboard."
  value       = module.hub_import.dashboard_url
}

output "hub_import" {
  description = "Everything the module exports: buckets, queue, functions, the key's secret version (never its value), alerts."
  value       = module.hub_import
}
