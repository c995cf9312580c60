# A module: no provider block. The root (terraform/ in this repository) configures the provider
# and pins the exact release; tests/terraform checks this module against google 7.46.1.
terraform {
  # 1.11: write-only arguments (the Hub API key) and ephemeral variables.
  required_version = ">= 1.11.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 7.46.1, < 8.0.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.13"
    }
  }
}
