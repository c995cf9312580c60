"""What a destination needs before its import call: each object's asset (its contextData made from
its custom metadata). Its batch ids: batches.py."""
from __future__ import annotations

import logging

from hub_import.core.assets import Asset, build_asset
from hub_import.core.logs import log
from hub_import.core.metadata import context_data
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.settings import Settings

logger = logging.getLogger("hub_import.flush")


def asset_for(settings: Settings, ref: ObjectRef, dest: Destination, batch_ids: tuple[str, ...] = (),
              size: tuple[int, int] | None = None, **log_fields) -> Asset:
    """The asset for `ref` bound for `dest` (its batches as `batch_ids`), its contextData made from
    its custom metadata as HUB_CONTEXT_KEYS says; each value left out is logged with the reason
    (and `log_fields`, such as the flush id). The flush does this, not ingest, so that the message
    carries the metadata as it is and one place decides what the Hub sees."""
    context, left_out = context_data(ref.metadata, settings.context_keys, settings.context_max_value_bytes) \
        if settings.context_keys and ref.metadata else ({}, [])
    for key, reason in left_out:
        log(logger, logging.WARNING, f"metadata {key!r} left out of contextData: {reason}", object=ref.uri,
            generation=ref.generation, key=key, reason=reason, **log_fields)
    return build_asset(ref, storage=dest.storage, batches=batch_ids, size=size, url_template=settings.url_template,
                       external_id_template=settings.external_id_template, context_data=context)

