# Once per project, however many instances of the module it holds: Eventarc's Cloud Storage
# triggers need the project's Cloud Storage service agent to publish to Pub/Sub, and Google grants
# that role on the project only. It lives here, not in an instance, so that destroying one
# instance leaves every other trigger in the project working. Each module call is handed the
# grant's id, and its functions and triggers wait until the grant has propagated.

locals {
  # What the grant and the lookup of the agent call; the module enables these and the rest.
  project_apis = ["cloudresourcemanager.googleapis.com", "storage.googleapis.com"]
}

resource "google_project_service" "project_grant" {
  for_each           = toset(local.project_apis)
  project            = local.project_id
  service            = each.value
  disable_on_destroy = false # other workloads in the project may use them
}

# A just-enabled API can refuse calls for a while (as in the module's apis_enabled).
resource "time_sleep" "project_apis_enabled" {
  create_duration = "60s"
  triggers        = { for api, s in google_project_service.project_grant : api => s.id }
}

# Asking for the agent also creates it if the project has none yet.
data "google_storage_project_service_account" "gcs" {
  project    = local.project_id
  depends_on = [time_sleep.project_apis_enabled]
}

resource "google_project_iam_member" "gcs_agent_publishes_events" {
  project = local.project_id
  role    = "roles/pubsub.publisher"
  member  = data.google_storage_project_service_account.gcs.member
}

# Earlier releases made this grant inside the module: keep it in place, under its new address.
moved {
  from = module.hub_import.google_project_iam_member.gcs_agent_publishes_events[0]
  to   = google_project_iam_member.gcs_agent_publishes_events
}
