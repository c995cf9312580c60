"""Red team: the ingest function decides whether to follow a deletion with `decide(..., resolve=True)`,
so batch templates and metadata overrides are filled from the metadata the object has when it is
*deleted*. Custom metadata can be changed without a new generation (a metadata update raises no
finalize event, so the asset stays), and then a template field it no longer fills, or an override
it now holds malformed, makes the deletion "skipped": the file has left the bucket, its asset stays
in the Hub for good, and only an INFO line says so. Which batch or project an object's asset went
to is the ledger's business (its record names the project); it has no bearing on whether the object
left the bucket."""
from __future__ import annotations

from dataclasses import replace

import pytest

from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import load
from hub_import.ingest.events import DELETED
from hub_import.ingest.handler import describe, describe_deletion

ENV = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing",
       "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st", "PUBSUB_EMULATOR_HOST": "127.0.0.1:9",
       "ON_DELETE": "delete", "PROBE_IMAGE_SIZE": "false"}

CASES = {
    # a batch template over metadata; the key removed (or blanked) after the import
    "template-key-removed": ({"HUB_BATCHES": "cam-{meta.camera}"}, {"camera": "7"}, {}),
    # an override valid at import, edited since to something no project id can be
    "override-edited": ({"HUB_METADATA_OVERRIDES": "true"}, {"hub-project": "other"}, {"hub-project": "other/x"}),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_deletion_is_followed_whatever_metadata_the_object_had_when_deleted(case):
    extra, at_import, at_deletion = CASES[case]
    settings = load({**ENV, **extra})
    imported = ObjectRef("landing", "cams/a.jpg", 1712345678901234, size=2048, content_type="image/jpeg",
                         time_created="2026-11-26T00:00:00Z", metadata=at_import)
    # GIVEN the object was queued for import (and so reached the Hub)
    assert describe(imported, settings) is not None
    # WHEN it is deleted after its metadata changed (a metadata update: same generation, no new import)
    gone = replace(imported, metadata=at_deletion)
    message = describe_deletion(gone, DELETED, settings, event="e1", live=lambda ref: None)
    # THEN the deletion is followed all the same
    assert message == DeletionMessage(gone, "deleted", "e1")
