# The Hub API key: the secret is created here; its value is added out of band
# (deploy/set-api-key.sh), so it never appears in a .tfvars file or the Terraform state.

resource "google_secret_manager_secret" "hub_api_key" {
  secret_id = "${var.name_prefix}-hub-api-key"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}
