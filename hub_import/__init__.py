"""hub_import: files that land in a GCS bucket, imported into Ango Hub once each.

Modules are named for what they hold:
- config (settings from the environment), logs (JSON log lines), clients (shared GCP clients)
- objects (a GCS object version), events (Eventarc's CloudEvents), routes (filters and routes),
  assets (what the Hub receives, and the URL rule), probe (image size from header bytes),
  queue (the messages between ingest and flush), ingest (one object, filtered, sized, queued)
- hub/ (the Hub: its client, one request's meaning, every guess in one place, settling unknown
  outcomes, pacing, errors), gcs (JSON documents with preconditions), ledger (once), manifests
  (the import history), lease (one sender at a time)
- flush (queue -> manifests -> Hub: the run, the drain, claims), flush_parts (its summary and
  items), sending (one manifest's assets, narrowed down on 400 and 413), settle (sending a
  manifest and recording its outcome), resume (pending manifests of earlier runs), heal (late
  copies removed), subscription (the flush's acks, leases and dead letters, none of which may end it)
- backfill, replay, deadletters (their form, and the way back), status (and check), audit,
  trace, cli (`python -m hub_import`)
`main.py` at the repository root holds the Cloud Functions entry points.
"""
