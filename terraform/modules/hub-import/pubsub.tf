# The queue between ingest and flush, the dead-letter topic beside it, and the results topic.

resource "google_pubsub_topic" "assets" {
  # checkov:skip=CKV_GCP_83: messages carry object names and sizes, no file content; Google-managed encryption suffices
  project                    = var.project_id
  name                       = "${var.name_prefix}-assets"
  message_retention_duration = "604800s"
  depends_on                 = [time_sleep.apis_enabled]
}

resource "google_pubsub_topic" "dead_letter" {
  # checkov:skip=CKV_GCP_83: messages carry object names and sizes, no file content; Google-managed encryption suffices
  project                    = var.project_id
  name                       = "${var.name_prefix}-dead-letter"
  message_retention_duration = "604800s"
  depends_on                 = [time_sleep.apis_enabled]
}

resource "google_pubsub_subscription" "flush" {
  project = var.project_id
  name    = local.flush_name
  topic   = google_pubsub_topic.assets.id

  # The flush holds a message at most its budget, and extends the lease while it works.
  ack_deadline_seconds       = 600
  message_retention_duration = "604800s"
  retain_acked_messages      = false

  expiration_policy {
    ttl = "" # never expires, however long the queue is idle
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  # 100, Pub/Sub's maximum: the flush pulls nothing while the Hub is down, so delivery
  # attempts are spent only by flushes that could work; a poison message still ends here.
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = 100
  }
}

resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project_id
  name                       = "${var.name_prefix}-dead-letter-inspect"
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }
}

# One message per settled manifest (hub_import/flush/results.py), for the team's own subscribers;
# kept a week, so that a subscription made later can seek back to what it missed.
resource "google_pubsub_topic" "results" {
  # checkov:skip=CKV_GCP_83: messages carry object names and Hub project ids, no file content; Google-managed encryption suffices
  count                      = var.publish_results ? 1 : 0
  project                    = var.project_id
  name                       = "${var.name_prefix}-results"
  message_retention_duration = "604800s"
  depends_on                 = [time_sleep.apis_enabled]
}
