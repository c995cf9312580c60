"""The core every process shares (the ingest function, the flush function, the CLI): settings,
routes and the decision where an object goes, object references, assets, queue messages, logs,
Google Cloud clients, and every guess about the Hub (hub_quirks). It imports nothing else of
hub_import."""
