"""The flush function (`main.flush`, called by Cloud Scheduler): the queue drained into manifests
and the Hub, each object once. `run.Flush` builds its parts, each given what it may touch, and
coordinates them: the turn (one flush's id, clock and summary), the bucket's storage integration
(found in the Hub when HUB_STORAGE_ID is empty; nothing is pulled without it), the subscription side (pull, acks,
leases, dead letters), the shipper (held objects and their groups) with its claims, the settler
(one manifest's import and its outcome), the resumer (pending manifests of earlier runs), the
deleter with its soft deleter (deletions that follow the bucket), heal (late copies) and the
results topic. docs/architecture.md draws the map."""
