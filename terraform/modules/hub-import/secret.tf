# The Hub API key. Terraform writes it as a new secret version through a write-only argument:
# it is sent to Secret Manager and kept in neither the plan nor the state. The value comes from
# an ephemeral variable; only the version number is stored. Rotation: a new key and the next
# hub_api_key_version, then apply.

resource "google_secret_manager_secret" "hub_api_key" {
  project   = var.project_id
  secret_id = "${var.name_prefix}-hub-api-key"

  # By default the key is kept in the functions' region only (user-managed replication), which an
  # organization's gcp.resourceLocations admits where it admits the functions; auto replication
  # needs the global location.
  replication {
    dynamic "user_managed" {
      for_each = var.secret_replication == "user_managed" ? [1] : []
      content {
        dynamic "replicas" {
          for_each = coalesce(var.secret_locations, [var.region])
          content {
            location = replicas.value
          }
        }
      }
    }
    dynamic "auto" {
      for_each = var.secret_replication == "auto" ? [1] : []
      content {}
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_secret_manager_secret_version" "hub_api_key" {
  secret                 = google_secret_manager_secret.hub_api_key.id
  secret_data_wo         = var.hub_api_key
  secret_data_wo_version = var.hub_api_key_version
  deletion_policy        = "DELETE" # a replaced key is destroyed, not kept disabled

  # The new version exists, and the flush function points at it, before the old one goes. The key
  # may be left unset (null) for terraform destroy only, which checks no precondition.
  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = var.hub_api_key != null
      error_message = "hub_api_key is not set: set TF_VAR_hub_api_key from the file that holds the key (README, Deploy). Only terraform destroy goes without it."
    }
  }
}
