"""A deletion is followed whatever the deleted generation's content: size and type rules judge
what goes *into* the Hub, not whether an asset we made leaves it. (Issue 23: a file imported
small, overwritten by a version over MAX_OBJECT_BYTES (skipped), then deleted, kept its asset in
the Hub for good; so did one deleted after the limit was lowered.) No network."""
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

IMPORTED = ObjectRef("landing", "cams/a", 1712345678901234, size=500, content_type="image/jpeg")

CASES = {
    # imported small; overwritten by a version over the limit (skipped), which is then deleted
    "overwritten-too-large": ({"MAX_OBJECT_BYTES": "1000"}, {"generation": 1712345678901235, "size": 5000}),
    # imported under a limit lowered since
    "limit-lowered": ({"MAX_OBJECT_BYTES": "100"}, {}),
    # imported as an image; overwritten by a version of another content type (skipped), then deleted
    "content-type-changed": ({"ALLOWED_CONTENT_TYPES": "image/*"},
                             {"generation": 1712345678901235, "content_type": "text/plain"}),
    # an empty version over it, then deleted
    "overwritten-empty": ({}, {"generation": 1712345678901235, "size": 0}),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_deletion_is_followed_whatever_size_or_type_the_deleted_generation_has(case):
    extra, deleted_as = CASES[case]
    # GIVEN an object imported under the rules of its day
    assert describe(IMPORTED, load({**ENV, **{k: v for k, v in extra.items() if k != "MAX_OBJECT_BYTES"}})) \
        is not None
    settings = load({**ENV, **extra})
    # WHEN the generation that leaves the bucket is one today's content rules would not import
    gone = replace(IMPORTED, **deleted_as)
    message = describe_deletion(gone, DELETED, settings, event="e1", live=lambda ref: None)
    # THEN the deletion is followed all the same (its asset, if we made one, leaves the Hub)
    assert message == DeletionMessage(gone, "deleted", "e1")


def test_a_deletion_of_a_name_the_rules_skip_by_name_is_still_not_followed():
    settings = load({**ENV, "EXCLUDE_GLOBS": "tmp/*"})
    gone = ObjectRef("landing", "tmp/a.jpg", 1712345678901234, size=10)
    assert describe_deletion(gone, DELETED, settings, event="e1", live=lambda ref: None) is None
