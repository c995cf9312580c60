# Buckets: landing (created or existing), state (manifests and ledger), function source.

resource "google_storage_bucket" "landing" {
  count                       = var.create_landing_bucket ? 1 : 0
  project                     = var.project_id
  name                        = var.landing_bucket
  location                    = local.new_landing_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy

  versioning {
    enabled = true
  }

  # A deleted or overwritten file stays as a noncurrent version; it goes after this many days.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.landing_noncurrent_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  # The Hub's web app reads objects straight from the bucket, with signed or authorised URLs.
  cors {
    origin          = var.hub_origins
    method          = ["GET", "HEAD"]
    response_header = ["Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "ETag"]
    max_age_seconds = var.cors_max_age_seconds
  }

  # checkov:skip=CKV_GCP_62: access logs of the landing bucket are the customer's choice; Cloud Audit Logs cover data access
  depends_on = [time_sleep.apis_enabled]
}

# An existing landing bucket: its real location is the trigger's region. It must be in this
# project: Eventarc's Cloud Storage triggers take events only from buckets of their own project.
data "google_storage_bucket" "landing" {
  count      = var.create_landing_bucket ? 0 : 1
  name       = var.landing_bucket
  depends_on = [time_sleep.apis_enabled]

  lifecycle {
    postcondition {
      condition     = tostring(self.project_number) == tostring(data.google_project.this.number)
      error_message = "The landing bucket ${var.landing_bucket} is in another project (number ${self.project_number}, not ${data.google_project.this.number}): Eventarc's Cloud Storage triggers take events only from a bucket in their own project. Deploy this module into the bucket's project (project_id), or land the files in a bucket of this one (README, Enterprise organizations)."
    }
  }
}

resource "google_storage_bucket" "state" {
  project                     = var.project_id
  name                        = var.state_bucket
  location                    = upper(var.region)
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = var.manifest_retention_days
      # Dated manifests only (manifests/YYYY/...): the pending markers and heal checks beside
      # them are live state, however old.
      matches_prefix = ["manifests/2"]
    }
    action {
      type = "Delete"
    }
  }

  # Overwritten manifest states and ledger records are history nobody reads: drop them after a week.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  # checkov:skip=CKV_GCP_62: the state bucket's writes are all made by the flush and logged by it
  depends_on = [time_sleep.apis_enabled]
}

resource "google_storage_bucket" "source" {
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name_prefix}-source"
  location                    = upper(var.region)
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 3
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  # checkov:skip=CKV_GCP_62: holds only the function source zips, written by terraform apply
  depends_on = [time_sleep.apis_enabled]
}
