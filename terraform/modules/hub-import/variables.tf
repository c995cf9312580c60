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
  description = "Prefix of every resource name (service accounts take its first 16 characters)."
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

variable "grant_gcs_agent_publisher" {
  type        = bool
  description = "Grant the project's Cloud Storage service agent roles/pubsub.publisher, which Eventarc's Cloud Storage triggers need. One grant per project: set false in every other instance of this module in the same project."
  default     = true
}

variable "create_hub_reader" {
  type        = bool
  description = "Create a service account with read access to the landing bucket only, for the Hub's storage integration (its key is made by hand)."
  default     = true
}

# -- the Hub API key -------------------------------------------------------------------------
variable "hub_api_key" {
  type        = string
  description = "The Hub API key (Hub UI, Profile > API). Ephemeral: written to Secret Manager through a write-only argument, never kept in the plan or the state. Terraform needs it on every plan; it is written only when hub_api_key_version changes."
  sensitive   = true
  ephemeral   = true
  nullable    = false

  validation {
    condition     = length(trimspace(var.hub_api_key)) > 0
    error_message = "hub_api_key is empty: set TF_VAR_hub_api_key from the file that holds the key."
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
