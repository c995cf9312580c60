# The functions' settings. Each (but flush_schedule, the scheduler's, and publish_results, which
# makes the topic RESULTS_TOPIC names) becomes the environment variable of the same name in upper case (main.tf, local.function_env) and mirrors
# hub_import/core/settings.py (ENV), defaults included; tests/terraform checks that both agree.

# -- the Hub ---------------------------------------------------------------------------------
variable "hub_api_url" {
  type        = string
  description = "The Hub's API base URL, without /v2: https://imeritapi.ango.ai (EU), https://us-api.ango.ai (US), https://in-api.ango.ai (India)."
  default     = "https://imeritapi.ango.ai"

  # The key goes where this points: one of the Hub's hosts (hub_import/core/settings_table.py
  # HUB_HOSTS; tests/terraform checks both lists agree), https on its port, no user@ (which would
  # make https://imeritapi.ango.ai@other.example a URL of other.example), no path.
  validation {
    condition     = can(regex("^https://(imeritapi|us-api|in-api|testapi)\\.ango\\.ai(:443)?$", var.hub_api_url))
    error_message = "hub_api_url: one of the Hub's API hosts, https:// and without a path, port or user@: https://imeritapi.ango.ai (EU), https://us-api.ango.ai (US), https://in-api.ango.ai (India), https://testapi.ango.ai."
  }
}

variable "hub_project_id" {
  type        = string
  description = "The Hub project objects go to when no route matches (empty: such objects are skipped)."
  default     = ""
}

variable "hub_storage_id" {
  type        = string
  description = "The _id of the Hub storage integration that reads the landing bucket, as an override. Empty (the default): the flush finds the one whose bucket is the landing bucket in the Hub (GET /v2/storages), and waits, pulling nothing, until it exists; nothing to re-apply once it is made."
  default     = ""
}

variable "hub_public_bucket" {
  type        = bool
  description = "The landing bucket is public (one of your own: create_landing_bucket = false): the Hub reads it without a storage integration, so none is looked for and assets name none."
  default     = false

  # A bucket this module creates enforces public access prevention: the Hub could not read it.
  validation {
    condition     = !var.hub_public_bucket || !var.create_landing_bucket
    error_message = "hub_public_bucket: the landing bucket this module creates is private; a public bucket is one of your own (create_landing_bucket = false). Otherwise leave it false: the flush finds the bucket's storage integration in the Hub."
  }
}

variable "hub_batches" {
  type        = list(string)
  description = "Batch names for the default route."
  default     = []
}

variable "hub_priority" {
  type        = number
  description = "Priority of the default route, -1000..1000 (higher is labeled first)."
  default     = 0

  validation {
    condition     = var.hub_priority >= -1000 && var.hub_priority <= 1000 && floor(var.hub_priority) == var.hub_priority
    error_message = "hub_priority must be a whole number from -1000 to 1000."
  }
}

variable "hub_create_batches" {
  type        = bool
  description = "Create batches that do not exist yet in the Hub project."
  default     = false
}

variable "hub_routes" {
  type = list(object({
    prefix   = optional(string)
    glob     = optional(string)
    project  = optional(string)
    storage  = optional(string)
    batches  = optional(list(string))
    priority = optional(number)
  }))
  description = "Ordered routes; the first whose prefix or glob matches the object name wins. Unset fields take the default route's."
  default     = []

  validation {
    condition     = alltrue([for r in var.hub_routes : (r.prefix == null) != (r.glob == null)])
    error_message = "hub_routes: each route needs exactly one of prefix or glob."
  }
}

variable "hub_requests_per_minute" {
  type        = number
  description = "The Hub's rate limit for this API key (100 a minute on the standard plan)."
  default     = 100

  validation {
    condition     = var.hub_requests_per_minute > 0 && var.hub_requests_per_minute <= 60000
    error_message = "hub_requests_per_minute must be above 0 and at most 60000."
  }
}

variable "hub_settle_seconds" {
  type        = number
  description = "After an import whose answer was lost (timeout, reset, 5xx), how long nothing of it is sent again; then the Hub is asked what it stored and only the rest is sent."
  default     = 300

  validation {
    condition     = var.hub_settle_seconds >= 0 && var.hub_settle_seconds <= 86400
    error_message = "hub_settle_seconds must be from 0 to 86400 (a day)."
  }
}

variable "hub_timeout_seconds" {
  type        = number
  description = "The longest the flush waits for one Hub answer; an import without an answer by then is settled later, never re-sent blindly."
  default     = 60

  validation {
    condition     = var.hub_timeout_seconds >= 1 && var.hub_timeout_seconds <= 300
    error_message = "hub_timeout_seconds must be from 1 to 300."
  }
}

# -- rules -----------------------------------------------------------------------------------
variable "include_globs" {
  type        = list(string)
  description = "When not empty, only object names matching one of these globs are imported."
  default     = []
}

variable "exclude_globs" {
  type        = list(string)
  description = "Object names matching any of these globs are never imported."
  default     = []
}

variable "allowed_extensions" {
  type        = list(string)
  description = "File extensions to import; a name with an extension is judged by it."
  default     = ["jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff", "heic", "avif", "mp4", "mov", "m4v", "webm", "avi", "mkv", "mp3", "wav", "flac", "pdf", "txt", "md", "csv", "json", "html", "dcm", "nii", "gz"]
}

variable "allowed_content_types" {
  type        = list(string)
  description = "Content types (type/* allowed) that admit names without an extension."
  default     = ["image/*", "video/*", "audio/*", "application/pdf", "text/*", "application/dicom"]
}

variable "skip_empty_objects" {
  type        = bool
  description = "Skip zero-byte objects."
  default     = true
}

variable "max_object_bytes" {
  type        = number
  description = "Skip objects larger than this many bytes (0: no limit)."
  default     = 0

  validation {
    condition     = var.max_object_bytes >= 0 && var.max_object_bytes <= 5497558138880 && floor(var.max_object_bytes) == var.max_object_bytes
    error_message = "max_object_bytes must be a whole number from 0 (no limit) to 5497558138880 (5 TiB, the largest GCS object)."
  }
}

variable "url_template" {
  type        = string
  description = "The asset data URL; fields {bucket} {name} {generation}, the name percent-encoded."
  default     = "https://storage.googleapis.com/{bucket}/{name}"

  validation {
    condition     = startswith(var.url_template, "https://")
    error_message = "url_template must start with https://."
  }
}

variable "external_id_template" {
  type        = string
  description = "The asset externalId; fields {bucket} {name} {generation}."
  default     = "{name}"
}

variable "probe_image_size" {
  type        = bool
  description = "Read image headers (a few KiB) for width and height."
  default     = true
}

variable "probe_max_bytes" {
  type        = number
  description = "The most bytes read from one object to find its size."
  default     = 1048576

  validation {
    condition     = var.probe_max_bytes >= 1024 && var.probe_max_bytes <= 67108864 && floor(var.probe_max_bytes) == var.probe_max_bytes
    error_message = "probe_max_bytes must be a whole number from 1024 to 67108864 (64 MiB, read into the ingest function's memory)."
  }
}

variable "on_overwrite" {
  type        = string
  description = "An overwritten object: skip (each name imported once) or import (each generation)."
  default     = "skip"

  validation {
    condition     = contains(["skip", "import"], var.on_overwrite)
    error_message = "on_overwrite must be skip or import."
  }
}

variable "on_delete" {
  type        = string
  description = "An object deleted from the landing bucket: ignore (its asset stays in the Hub) or delete (its asset is soft-deleted there). delete adds Eventarc triggers on deleted and archived objects."
  default     = "ignore"

  validation {
    condition     = contains(["ignore", "delete"], var.on_delete)
    error_message = "on_delete must be ignore or delete."
  }
}

variable "max_event_age_seconds" {
  type        = number
  description = "Events older than this are dropped instead of retried."
  default     = 86400

  validation {
    condition     = var.max_event_age_seconds >= 60 && var.max_event_age_seconds <= 604800
    error_message = "max_event_age_seconds must be from 60 to 604800 (Pub/Sub keeps a message 7 days)."
  }
}

# -- the sweep: files whose event was lost ---------------------------------------------------
variable "sweep_every_minutes" {
  type        = number
  description = "How often the sweep lists the landing bucket for files whose event was lost (Eventarc gave up, a trigger was being replaced) and queues them; 0: no sweep (no sweep function, no job). Cloud Scheduler takes cron: under 60, at the minutes of each hour divisible by it; from 60, at minute 0 of the hours of each day divisible by it in whole hours."
  default     = 60

  validation {
    condition     = var.sweep_every_minutes >= 0 && var.sweep_every_minutes <= 1440 && floor(var.sweep_every_minutes) == var.sweep_every_minutes
    error_message = "sweep_every_minutes must be a whole number from 0 (no sweep) to 1440 (once a day)."
  }
}

variable "sweep_grace_seconds" {
  type        = number
  description = "The sweep leaves a file this young to its event (which may still be on its way)."
  default     = 600

  validation {
    condition     = var.sweep_grace_seconds >= 0 && var.sweep_grace_seconds <= 86400
    error_message = "sweep_grace_seconds must be from 0 to 86400."
  }
}

# -- the flush -------------------------------------------------------------------------------
variable "max_assets_per_manifest" {
  type        = number
  description = "The most assets in one manifest (one Hub import call)."
  default     = 500

  validation {
    condition     = var.max_assets_per_manifest >= 1 && var.max_assets_per_manifest <= 10000 && floor(var.max_assets_per_manifest) == var.max_assets_per_manifest
    error_message = "max_assets_per_manifest must be a whole number from 1 to 10000."
  }
}

variable "flush_budget_seconds" {
  type        = number
  description = "How long one flush works; the function's timeout is this plus hub_timeout_seconds plus 30 s, and the scheduler waits 15 s more, so the next call never finds the one flush instance busy."
  default     = 240

  # Cloud Scheduler waits at most 30 minutes for an answer, and must wait out the flush (scheduler.tf).
  validation {
    condition     = var.flush_budget_seconds >= 30 && var.flush_budget_seconds + var.hub_timeout_seconds + 30 + 15 <= 1800
    error_message = "flush_budget_seconds must be at least 30, and with hub_timeout_seconds and 45 s at most 1800: the scheduler must wait out the flush (its timeout is the budget plus the Hub timeout plus 30 s), and Cloud Scheduler waits 30 minutes at most."
  }
}

variable "publish_results" {
  type        = bool
  description = "Create the topic <name_prefix>-results and publish one message on it per settled manifest (RESULTS_TOPIC); false: no topic, no messages."
  default     = true
}

variable "flush_schedule" {
  type        = string
  description = "Cron schedule of the flush (Cloud Scheduler, 5 fields)."
  default     = "* * * * *"

  validation {
    condition     = can(regex("^(\\S+\\s+){4}\\S+$", trimspace(var.flush_schedule)))
    error_message = "flush_schedule must be a 5-field cron expression such as \"* * * * *\"."
  }
}

variable "log_level" {
  type        = string
  description = "DEBUG, INFO, WARNING or ERROR."
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}
