"""hub_import: files that land in a GCS bucket, imported into Ango Hub once each.

Each folder says which process runs what it holds (docs/architecture.md draws the map):
- ingest/: the ingest function, one event at a time;
- flush/: the flush function, the queue into manifests and the Hub;
- ops/: the operator's CLI (`hub-import`, or `python -m hub_import`);
- state/: what lives in the state bucket (ledger, manifests, lease, batch budget);
- hub/: the Hub API client;
- core/: what every process shares (settings, routes, objects, assets, messages, logs, clients).
Imports flow one way: ops -> flush | ingest -> state | hub -> core (tests/unit/test_layers.py).
`main.py` at the repository root holds the Cloud Functions entry points.
"""

# The product's version, in this one place: `hub-import --version` and pyproject.toml read it.
__version__ = "0.1.0"
