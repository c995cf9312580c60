"""Red team of issue 23 (DUPLICATE/LEFTOVER, fixed by the resumer trusting the sent marker): seed 130's bug
in new shapes, with ON_OVERWRITE=import and a lagging listing: a flush dies (GCS 503)
leaving a pending manifest with an unknown outcome; the file is deleted and its asset soft-deleted;
the resume then 'settles the unknown outcome' (in_hub 0, to_send 1) and imports the deleted file
again. Shrunk from soak seeds 70345 and 80081."""
from __future__ import annotations

import pytest

from tests.simulation import runner

H70345 = {"seed": 70345, "setup": {"env": {"ON_OVERWRITE": "import", "ON_DELETE": "delete", "MAX_OBJECT_BYTES": "1000",
                                           "MAX_ASSETS_PER_MANIFEST": "500", "EXTERNAL_ID_TEMPLATE": "{name}#{generation}"},
                                   "guesses": {"list_order": "oldest_first", "list_created_at": False,
                                               "external_id_filter": "exact", "delete_unknown_ids": "ignored",
                                               "retry_after": False}, "list_lag_s": 30},
          "steps": [["upload", "b.pdf", 300, {"camera": "c2"}, "now"],
                    ["flush", 5597957, {"gcs.write": 0.05, "gcs.read": 0.03}, None],
                    ["delete", "b.pdf", "now"]]}
H80081 = {"seed": 80081, "setup": {"env": {"ON_OVERWRITE": "skip", "ON_DELETE": "delete", "MAX_OBJECT_BYTES": "0",
                                           "MAX_ASSETS_PER_MANIFEST": "500"},
                                   "guesses": {"list_order": "newest_first", "list_created_at": False,
                                               "external_id_filter": "exact", "delete_unknown_ids": "ignored",
                                               "retry_after": True}, "list_lag_s": 30},
          "steps": [["upload", "b.pdf", 200, {"camera": "c2"}, "now"], ["upload", "x/d.pdf", 100, {}, "now"],
                    ["flush", 637448504, {"gcs.write": 0.15}, None], ["delete", "b.pdf", "now"]]}


@pytest.mark.parametrize("history", [H70345, H80081], ids=["70345", "80081"])
def test_a_deleted_file_is_not_imported_again_by_a_resumed_manifest(history):
    result = runner.run(history)
    assert not [v for v in result.violations if v.invariant == "deletions"], result.violations
