"""The resumer: pending manifests from earlier runs. Each is finished by a later
flush once nobody holds it, and, when an import of it may have been stored, only after its settle
time and within the flush's share of Hub calls for settling. One whose sent marker exists (the Hub
took it; its flush died, or its state write failed, before the state said so) is recorded sent
without a Hub call: the marker is final, and an asset of it the deleter removed since (it saw the
marker) must not be sent again."""
from __future__ import annotations

import logging
from hub_import.core import clock

from hub_import.core.logs import log
from hub_import.hub import HubClient
from hub_import.state.ledger import Ledger
from hub_import.state.manifests import PENDING, Manifest, ManifestStore, settle_window

from .settler import Settler
from .turn import Turn

logger = logging.getLogger(__name__)


class Resumer:
    """Finishes, for one flush (`turn`), the pending manifests nobody holds, through its settler."""

    def __init__(self, turn: Turn, hub: HubClient, ledger: Ledger, manifests: ManifestStore, settler: Settler):
        self.turn, self.hub, self.ledger, self.manifests, self.settler = turn, hub, ledger, manifests, settler
        self.settings, self.summary, self.id = turn.settings, turn.summary, turn.id

    def resume_pending(self) -> None:
        for path in self.manifests.pending_paths():
            if clock.monotonic() >= self.turn.pull_until or self.summary.hub_unavailable:
                return
            manifest = self.manifests.load(path)
            if manifest is None:
                # Its state not written (yet): its flush died, or is alive and about to write it (its
                # flush lease ran out meanwhile). Only a marker older than a claim can live is dropped.
                self.manifests.drop_marker_if_before(path, clock.now() - self.turn.lease_s)
                continue
            if manifest.state.get("state") != PENDING:
                self.manifests.drop_marker(path)
                continue
            state, now = manifest.state, clock.now()
            if float(state.get("lease_until") or 0) > now:
                continue  # its flush is still at work on it
            marked_sent = self.ledger.is_sent(path)
            since, not_before = settle_window(state, self.settings.settle_s, self.hub.transport.clock_offset)
            if not marked_sent and since is not None and (now < not_before or self.turn.reconcile_calls_left() <= 0):
                continue  # settled later: an unknown outcome is never raced
            if not self.manifests.update(manifest, owner=self.id, lease_until=now + self.turn.lease_s,
                                         uncertain_since=since, not_before=not_before):
                continue  # another flush took it first
            if not self._keep_own_assets(manifest):
                continue
            log(logger, logging.INFO, "resuming a pending manifest", flush_id=self.id, manifest=path,
                assets=len(manifest.assets), attempts=state.get("attempts", 0), uncertain_since=since,
                marked_sent=marked_sent)
            self.summary.resumed_manifests += 1
            if marked_sent:
                self.settler.settle_sent(manifest)
            else:
                self.settler.send(manifest, {})

    def _keep_own_assets(self, manifest: Manifest) -> bool:
        """Drop from `manifest` (in memory) the objects whose ledger record names another manifest:
        a flush that died while settling had moved them already. False if none is left."""
        records = list(self.turn.pool.map(self.ledger.read, manifest.objects))
        mine = [i for i, r in enumerate(records) if r is None or r.body.get("manifest") == manifest.path]
        if len(mine) != len(manifest.assets):
            manifest.assets = [manifest.assets[i] for i in mine]
            manifest.objects = [manifest.objects[i] for i in mine]
        if not manifest.assets:
            self.manifests.discard(manifest)
            return False
        return True
