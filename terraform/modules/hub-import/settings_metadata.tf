# The settings for an object's own metadata: batch templates and their cap, contextData, and
# metadata that overrides a route. As in settings.tf, each is the upper-case environment variable.

variable "max_template_batches" {
  type        = number
  description = "The most batches one batch template (a batch name with {dir}, {top}, {date} or {meta.KEY}), or objects' metadata hub-batches, may create in a project; past it, its manifests fail visibly instead of flooding the project."
  default     = 100

  validation {
    condition     = var.max_template_batches >= 1 && var.max_template_batches <= 10000 && floor(var.max_template_batches) == var.max_template_batches
    error_message = "max_template_batches must be a whole number from 1 to 10000."
  }
}

variable "hub_context_keys" {
  type        = list(string)
  description = "Custom metadata keys (x-goog-meta-KEY) copied into each asset's contextData, shown to labelers; [\"*\"] for all."
  default     = []

  validation {
    condition     = length(setintersection(var.hub_context_keys, ["hub-project", "hub-batches", "hub-priority"])) == 0
    error_message = "hub_context_keys: hub-project, hub-batches and hub-priority route an object and never go into contextData."
  }
}

variable "max_context_value_bytes" {
  type        = number
  description = "A metadata value longer than this (UTF-8 bytes) is left out of contextData, with a log line; the object is imported all the same."
  default     = 1024

  validation {
    condition     = var.max_context_value_bytes >= 1 && var.max_context_value_bytes <= 8192 && floor(var.max_context_value_bytes) == var.max_context_value_bytes
    error_message = "max_context_value_bytes must be a whole number from 1 to 8192 (GCS holds at most 8 KiB of custom metadata an object)."
  }
}

variable "hub_metadata_overrides" {
  type        = bool
  description = "Let an object's metadata hub-project, hub-batches and hub-priority override its route. Whoever can upload can then choose among the projects the API key reaches."
  default     = false
}
