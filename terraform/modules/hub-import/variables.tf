# Inputs: where it runs, the buckets, the key, the watching. The functions' settings are in
# settings.tf.

# -- where -----------------------------------------------------------------------------------
variable "project_id" {
  type        = string
  description = "The GCP project to deploy into."
}

variable "region" {
  type        = string
  description = "Region of the functions, the scheduler job and (when created) the buckets, e.g. europe-west1."
  default     = "europe-west1"
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name, one per instance in a project. Service-account ids take it whole up to 16 characters; a longer one is cut to 15 and followed by a short hash of the whole prefix."
  default     = "hub-import"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name_prefix))
    error_message = "name_prefix: 3 to 21 lowercase letters, digits or hyphens, starting with a letter."
  }
}

# -- buckets ---------------------------------------------------------------------------------
variable "landing_bucket" {
  type        = string
  description = "The bucket files land in. Created unless create_landing_bucket is false."
}

variable "create_landing_bucket" {
  type        = bool
  description = "Create the landing bucket (true), or use an existing one (false; apply deploy/cors.json to it yourself)."
  default     = true
}

variable "landing_bucket_location" {
  type        = string
  description = "Location of the landing bucket when this module creates it (a region such as europe-west1, or EU/US); null means var.region. An existing bucket's own location is read from it."
  default     = null
}

variable "state_bucket" {
  type        = string
  description = "Name of the bucket created for manifests and the ledger (private)."
}

variable "landing_noncurrent_days" {
  type        = number
  description = "Days after which a noncurrent version of an object in the landing bucket this module creates (one overwritten or deleted) is deleted, so that a deleted file does not stay readable for good."
  default     = 30

  validation {
    condition     = var.landing_noncurrent_days >= 1 && floor(var.landing_noncurrent_days) == var.landing_noncurrent_days
    error_message = "landing_noncurrent_days must be a whole number from 1."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Let terraform destroy delete the landing bucket this module creates and the state bucket with every object in them (files, manifests, the ledger). false: destroy stops at a bucket that is not empty."
  default     = false
}

variable "manifest_retention_days" {
  type        = number
  description = "Days after which manifests are deleted from the state bucket (the ledger is kept). At least 30, so that no manifest still pending (settling, or waiting for a Hub that is down) is deleted."
  default     = 180

  validation {
    condition     = var.manifest_retention_days >= 30
    error_message = "manifest_retention_days must be at least 30."
  }
}

variable "hub_origins" {
  type        = list(string)
  description = "Web origins of the Hub's app that may GET and HEAD objects in the landing bucket (CORS): those the Hub's docs name."
  default     = ["https://imerit.ango.ai", "https://hub.ango.ai", "https://api.ango.ai"]

  validation {
    condition     = alltrue([for o in var.hub_origins : can(regex("^https://[a-z0-9.-]+(:[0-9]+)?$", o))])
    error_message = "hub_origins: each an https:// origin without a path, e.g. https://imerit.ango.ai."
  }
}

variable "cors_max_age_seconds" {
  type        = number
  description = "How long browsers may cache the CORS answer."
  default     = 3600

  validation {
    condition     = var.cors_max_age_seconds > 0
    error_message = "cors_max_age_seconds must be positive."
  }
}

variable "gcs_agent_publisher_grant" {
  type        = string
  description = "The id of the grant of roles/pubsub.publisher on the project to its Cloud Storage service agent, which Eventarc's Cloud Storage triggers need. It is made once per project, in the root (terraform/project.tf: google_project_iam_member.gcs_agent_publishes_events.id), and the same id goes to every instance; the functions and triggers wait until it has propagated."
  nullable    = false
}

variable "flush_ingress" {
  type        = string
  description = "Who may reach the flush function over the network (IAM still admits only the scheduler's account): ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB. README, Enterprise organizations, says what each means for Cloud Scheduler's calls."
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.flush_ingress)
    error_message = "flush_ingress must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "create_hub_reader" {
  type        = bool
  description = "Create a service account with read access to the landing bucket only, for the Hub's storage integration (its key is made by hand). false: the integration reads the bucket with an account (and key) made elsewhere, e.g. where iam.disableServiceAccountKeyCreation is enforced in this project (README, Enterprise organizations)."
  default     = true
}

# -- the Hub API key -------------------------------------------------------------------------
variable "hub_api_key" {
  type        = string
  description = "The Hub API key (Hub UI, Profile > API). Ephemeral: written to Secret Manager through a write-only argument, never kept in the plan or the state. Needed on every plan and apply (it is written only when hub_api_key_version changes); null only for terraform destroy."
  sensitive   = true
  ephemeral   = true
  nullable    = true
  default     = null

  validation {
    condition     = var.hub_api_key == null ? true : length(trimspace(var.hub_api_key)) > 0
    error_message = "hub_api_key is empty: set TF_VAR_hub_api_key from the file that holds the key."
  }
}

variable "secret_replication" {
  type        = string
  description = "Where Secret Manager keeps the key: user_managed (in secret_locations, by default the functions' region; what an organization's gcp.resourceLocations admits) or auto (Google's choice, which needs the global location)."
  default     = "user_managed"

  validation {
    condition     = contains(["user_managed", "auto"], var.secret_replication)
    error_message = "secret_replication must be user_managed or auto."
  }
}

variable "secret_locations" {
  type        = list(string)
  description = "The regions the key's secret is replicated to with user_managed replication (null: the functions' region, var.region)."
  default     = null

  validation {
    condition     = var.secret_locations == null ? true : length(var.secret_locations) > 0 && alltrue([for l in var.secret_locations : can(regex("^[a-z]+-[a-z]+[0-9]+$", l))])
    error_message = "secret_locations: one or more regions such as europe-west1 (null: var.region)."
  }
}

variable "hub_api_key_version" {
  type        = number
  description = "The number of the key's current version. Raise it (with the new key in hub_api_key) to rotate: a new secret version is written and the flush function redeploys onto it."
  default     = 1

  validation {
    condition     = var.hub_api_key_version >= 1 && floor(var.hub_api_key_version) == var.hub_api_key_version
    error_message = "hub_api_key_version must be a whole number from 1."
  }
}

# -- the code and the watching ------------------------------------------------------------------
variable "source_dir" {
  type        = string
  description = "The directory holding main.py, requirements.txt and hub_import/ (null: this repository, three levels up from the module)."
  default     = null
}

variable "notification_channels" {
  type        = list(string)
  description = "Existing Cloud Monitoring notification channels the alerts go to (ids: projects/PROJECT/notificationChannels/ID)."
  default     = []
}

variable "alert_emails" {
  type        = list(string)
  description = "E-mail addresses to alert; the module makes a notification channel for each."
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+$", e))])
    error_message = "alert_emails: each an e-mail address."
  }
}

variable "alert_oldest_message_seconds" {
  type        = number
  description = "Alert when the oldest unimported file event in the queue is older than this."
  default     = 900

  validation {
    condition     = var.alert_oldest_message_seconds >= 60
    error_message = "alert_oldest_message_seconds must be at least 60."
  }
}

variable "alert_hub_unreachable_flushes" {
  type        = number
  description = "Alert when this many flushes found the Hub unreachable within this many minutes plus one: with the default every-minute schedule, this many in a row."
  default     = 5

  validation {
    condition     = var.alert_hub_unreachable_flushes >= 1 && floor(var.alert_hub_unreachable_flushes) == var.alert_hub_unreachable_flushes
    error_message = "alert_hub_unreachable_flushes must be a whole number from 1."
  }
}
