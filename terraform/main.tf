# The deployment: fill in the values below, then
#     terraform init
#     TF_VAR_hub_api_key="$(cat hub-api-key.txt)" terraform apply
# Every setting of the module is described in modules/hub-import/variables.tf and settings.tf.

locals {
  project_id = "my-gcp-project"
  region     = "europe-west1"
}

provider "google" {
  project = local.project_id
  region  = local.region
}

module "hub_import" {
  source = "./modules/hub-import"

  project_id     = local.project_id
  region         = local.region
  landing_bucket = "my-team-labeling-inbox"
  state_bucket   = "my-team-labeling-inbox-state"
  # create_landing_bucket = false   # use an existing bucket (then apply deploy/cors.json to it)

  hub_api_url    = "https://imeritapi.ango.ai" # EU; https://us-api.ango.ai (US), https://in-api.ango.ai (India)
  hub_project_id = "64f0c0ffee0123456789abcd"
  hub_storage_id = "" # empty: the flush finds the Hub storage integration whose bucket is the landing bucket (an _id here overrides)
  hub_batches    = ["incoming"]
  hub_routes = [
    { prefix = "cameras/night/", batches = ["night"], priority = 10 },
    { glob = "**/*.pdf", project = "64f0c0ffee0123456789abce" },
  ]
  exclude_globs = ["**/tmp/**", "**/*.part"] # any tmp/ folder, any .part file, at any depth (`*` stays within one folder)
  # on_delete   = "delete"   # a file deleted from the bucket is soft-deleted in the Hub (README, Deletions)

  # The key comes from TF_VAR_hub_api_key and goes only into Secret Manager. To rotate it, put
  # the new key in the file, raise the version by one, and apply.
  hub_api_key         = var.hub_api_key
  hub_api_key_version = 1

  alert_emails = [] # e.g. ["labeling-ops@example.com"]; or notification_channels = [ids]

  # The project-wide grant Eventarc needs, made once in project.tf; the functions wait for it.
  gcs_agent_publisher_grant = google_project_iam_member.gcs_agent_publishes_events.id
}
