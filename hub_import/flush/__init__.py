"""The flush function (`main.flush`, called by Cloud Scheduler): the queue drained into manifests
and the Hub, each object once. `run.Flush` coordinates its parts: the shipper (claims, manifests),
the settler (one manifest's import and its outcome), the resumer (pending manifests of earlier
runs), the deleter (deletions that follow the bucket), heal (late copies), the results topic and
the subscription side (acks, leases, dead letters)."""
