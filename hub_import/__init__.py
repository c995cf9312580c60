"""hub_import: files that land in a GCS bucket, imported into Ango Hub once each.

Modules are named for what they hold:
- config (settings from the environment), logs (JSON log lines), clients (shared GCP clients)
- objects (a GCS object version), events (Eventarc's CloudEvents), routes (filters and routes),
  assets (what the Hub receives, and the URL rule), probe (image size from header bytes),
  queue (the messages between ingest and flush), ingest (one object, filtered, sized, queued)
- hub (the Hub API client), gcs (JSON documents with preconditions), ledger (once), manifests
  (the import history), flush (queue -> manifests -> Hub), subscription (the flush's acks,
  leases and dead letters, none of which may end it)
- backfill, replay, deadletters (their form, and the way back), status (and check), cli
  (`python -m hub_import`)
`main.py` at the repository root holds the Cloud Functions entry points.
"""
