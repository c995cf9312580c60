"""The deletion guard on the local stack, as a person meets it: a folder deleted past
MAX_DELETIONS_PER_HOUR leaves the Hub only up to the limit; `status`, `deletions` and `trace` say
what is held and how to release it; `deletions --approve` carries the rest out, each once.

The stack's ingest function follows deletions (conftest SETTINGS); the test has a ledger of its
own (`own_state`, so its deletion window and held deletions too) and flushes with a limit of 5."""
from __future__ import annotations

import json

from tests.integration.conftest import wait_for_ingest
from tests.integration.flush.test_deletions import delete, deletes, flush_until, import_files, run_id, totals
from tests.integration.flushing import held, own_state
from tests.integration.ops.test_operations import cli
from tests.integration.ops.test_trace import verdict

LIMIT = {"MAX_DELETIONS_PER_HOUR": "5"}


def test_a_folder_deleted_past_the_limit_is_held_shown_and_carried_out_once_approved(stack):
    # GIVEN 12 files imported into the Hub, and a limit of 5 deletions an hour
    state, run = own_state(stack, "guard"), run_id("guard")
    names = [f"{run}f {i:02d}.txt" for i in range(12)]
    import_files(stack, state, names)
    _, deleted_before, twice_before = deletes(stack)
    # WHEN the folder is deleted from the bucket and the flush takes the deletions
    delete(stack, names)
    wait_for_ingest(stack, run, "deletion queued", 12)
    summaries = flush_until(state, lambda s: totals(s, "deletions") >= 12, **LIMIT)
    # THEN 5 leave the Hub, 7 are held: their assets stay
    assert len(held(stack, run)) == 7 and totals(summaries, "deletions_held") == 7
    assert deletes(stack)[1] - deleted_before == 5
    # AND status, deletions and trace say so, with what to run
    status = cli(state, "status", "--json", **LIMIT)
    assert status.returncode == 0 and json.loads(status.stdout)["held_deletions"] == 7
    assert "deletions held: 7" in cli(state, "status", **LIMIT).stdout
    listing = cli(state, "deletions", **LIMIT)
    assert listing.returncode == 0 and "7 deletion(s) held" in listing.stdout and "--approve" in listing.stdout
    kept = sorted(held(stack, run))[0]
    assert verdict(state, f"gs://{stack['LANDING_BUCKET']}/{kept}", **LIMIT) == (
        "deletion held: over MAX_DELETIONS_PER_HOUR (5); run `python -m hub_import deletions --approve` or `--discard`")
    # WHEN a person approves them, and the flush runs
    approved = cli(state, "deletions", "--approve", **LIMIT)
    assert approved.returncode == 0 and "7 held deletion(s) approved and queued" in approved.stdout
    flush_until(state, lambda _: not held(stack, run), **LIMIT)
    # THEN every asset has left the Hub, each once, and nothing is held any more
    _, deleted, twice = deletes(stack)
    assert deleted - deleted_before == 12 and twice == twice_before
    assert "no deletions held" in cli(state, "deletions", **LIMIT).stdout
