# The one input of this root: the key, which must never be written in a file Terraform reads.
# Everything else is written in main.tf.

variable "hub_api_key" {
  type        = string
  description = "The Hub API key: set TF_VAR_hub_api_key from the file that holds it (never on the command line). Needed on every plan and apply; terraform destroy goes without it."
  sensitive   = true
  ephemeral   = true
  nullable    = true
  default     = null
}
