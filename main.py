"""Cloud Functions entry points, one deployable source tree for both.

The two entry points the design fixes, `on_object_finalized` (CloudEvent, from Eventarc) and
`flush` (HTTP, from Cloud Scheduler), come with the ingest and flush capabilities; everything
they call lives in the `hub_import` package beside this file.
"""
