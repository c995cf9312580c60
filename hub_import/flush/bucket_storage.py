"""The storage integration the flush binds assets to when HUB_STORAGE_ID is empty: found in the Hub.

Before it pulls anything, a flush whose settings discover the storage (Settings.discovers_storage)
asks the Hub for every page of GET /v2/storages and picks the integration whose bucket is the
landing bucket (core/bucket_storage.py). It asks at every flush (one or two calls of the Hub's
100 a minute), so that an integration deleted and made again under a new `_id`, or a second one
added later, is seen by the next flush, not only by a new instance: a warm instance that kept the
first id would send every new file to an integration the Hub no longer has, and dead-letter it
(issue 18's red team). While there is none, or more than one,
the flush pulls nothing: its messages stay in the subscription, no delivery attempt is spent and
nothing is acked, so they go in on their own once the integration exists. It then says so, one
line per flush, and records what it found in the state bucket for `status` and `trace`.
"""
from __future__ import annotations

import dataclasses
import logging

from hub_import.core.bucket_storage import AMBIGUOUS, find
from hub_import.core.logs import log
from hub_import.core.routes import Destination
from hub_import.hub import HubClient
from hub_import.state.storage_record import StorageRecord

from .turn import Turn

logger = logging.getLogger(__name__)

class BucketStorage:
    """The landing bucket's storage integration for one flush (`turn`): `ready()` before pulling,
    then `fill()` for each destination that names none."""

    def __init__(self, turn: Turn, hub: HubClient, record: StorageRecord):
        self.turn, self.hub, self.record = turn, hub, record
        self.settings = turn.settings
        self.storage_id = self.settings.storage_id or None

    def ready(self, deadline: float | None = None) -> bool:
        """True when every destination can name its integration: the settings name it, the bucket
        is public, or this flush finds it in the Hub. Otherwise the summary says why
        (`storage_waiting`), one line is logged, and the caller pulls nothing. HubError when the Hub
        could not be asked."""
        if not self.settings.discovers_storage:
            return True
        bucket = self.settings.landing_bucket
        finding = find(self.hub.storages(deadline=deadline), bucket)
        self.record.keep(finding)
        if finding.storage_id:
            self.storage_id = finding.storage_id
            log(logger, logging.DEBUG, "Hub storage integration found", flush_id=self.turn.id, bucket=bucket,
                storage=finding.storage_id)
            return True
        self.turn.summary.storage_waiting = finding.says()
        log(logger, logging.ERROR if finding.state == AMBIGUOUS else logging.WARNING, finding.says(),
            flush_id=self.turn.id, bucket=bucket, storages=list(finding.ids))
        return False

    def fill(self, dest: Destination) -> Destination:
        """`dest` bound to the landing bucket's integration when it names none (and the bucket is
        not public); as it is otherwise."""
        if dest.storage is not None or self.settings.public_bucket or not self.storage_id:
            return dest
        return dataclasses.replace(dest, storage=self.storage_id)

