output "check_command" {
  description = "Check the deployment end to end (with HUB_API_KEY exported in that shell)."
  value       = module.hub_import.check_command
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
