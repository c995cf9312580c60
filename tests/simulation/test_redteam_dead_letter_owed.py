"""Red team of issue 23 (SILENT, fixed): a file the Hub rejects whose dead letter Pub/Sub did not confirm (owed, its
import message left unacked: bug 4's fix) and that is then deleted from the bucket never gets its
dead letter. The deletion meets the FAILED record and tombstones it (deleter._look ->
_tombstone: 'not_imported'); when the import message comes back, Claims._judge sees DELETED first
(_after_deletion -> 'gone') and acks it, never reaching the `owes(...)` check. Shrunk from
simulation seed 81195 (SIM soak, seeds 80000-81199)."""
from __future__ import annotations

from tests.simulation import runner

HISTORY = {"seed": 81195, "setup": {"env": {"ON_OVERWRITE": "skip", "ON_DELETE": "delete", "MAX_OBJECT_BYTES": "1000",
                                            "MAX_ASSETS_PER_MANIFEST": "3"},
                                    "guesses": {"list_order": "newest_first", "list_created_at": False,
                                                "external_id_filter": "exact", "delete_unknown_ids": "ignored",
                                                "retry_after": False}, "list_lag_s": 0},
           "steps": [
               ["upload", "x/d.pdf", 300, {}, "now"],          # x/ routes to a storage the Hub lacks: rejected
               ["flush", 809810407, {"pubsub.publish": 0.5}, None],  # its dead letter's publish fails
               ["delete", "x/d.pdf", "delay"],                  # then the file leaves the bucket
           ]}


def test_a_rejected_file_deleted_before_its_dead_letter_is_confirmed_still_gets_one():
    result = runner.run(HISTORY)
    assert not [v for v in result.violations if v.invariant == "nothing-silent"], result.violations
