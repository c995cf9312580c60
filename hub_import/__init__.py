"""hub_import: files that land in a GCS bucket, imported into Ango Hub once each.

Modules are named for what they hold: `objects` (a GCS object reference), `assets` (what the
Hub receives for one object, and the URL rule), `hub` (the Hub API client). `main.py` at the
repository root holds the Cloud Functions entry points.
"""
