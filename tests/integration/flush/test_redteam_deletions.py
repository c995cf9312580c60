"""Red team: deletions that follow the bucket (ON_DELETE=delete) and their results.

1. A deletion message (version 2) whose bucket the storage client refuses before any request
   (`Bucket names must start and end with a number or letter`, a ValueError) kills the flush:
   `Deleting._live` catches only the API's errors, `pool.map(self._look, ...)` re-raises, and
   nothing pulled with it is acked. Every flush that pulls it dies, until Pub/Sub dead-letters it
   after MAX_DELIVERY_ATTEMPTS (100). `decode_message` accepts any non-empty bucket name.
2. A file imported and deleted (generation G1), then uploaded again and deleted again before that
   upload was imported (G2): the flush records G2 as gone ("already_deleted", a later generation
   went too) but tells it from the ledger record as it was *before* it wrote G2 into it:
   generation G1, G1's asset ids, outcome "deleted", result_id `<record>@G1`. A subscriber that
   de-duplicates on result_id (as the README asks) drops it as G1's again: G2's deletion is never
   told, and what was told is wrong.
"""
from __future__ import annotations

import json
import time
import uuid

from hub_import.core.clients import publisher_client, storage_client
from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.state.manifests import ManifestStore
from hub_import.state.store import JsonStore
from tests.integration.conftest import pull_until, wait_for_ingest
from tests.integration.flushing import assert_once, held, hub, own_state, publish, refs, run_flush, settings
from tests.integration.flush.test_deletions import (FAST, SOON, delete, flush_until, healthy_hub, import_files, record,  # noqa: F401
                                              run_id, totals, upload)
from tests.integration.flush.test_results import results_sub, take  # noqa: F401 - a fixture


def test_a_deletion_naming_an_impossible_bucket_does_not_kill_the_flush(stack):
    # GIVEN good files queued, and a deletion message whose bucket name starts with a '-'
    state = own_state(stack, "rt-badbucket", queue=True)
    marker = uuid.uuid4().hex
    good = publish(state, refs(f"rt-badbucket-{marker[:6]}/", 3))
    data, attributes = DeletionMessage(ObjectRef("-not-a-bucket-", "x.jpg", 7), "deleted", "poison").encode()
    publisher_client().publish(settings(state).topic_path, data, **attributes, marker=marker).result(timeout=30)
    outcome = None
    try:
        # WHEN the scheduler flushes
        try:
            outcome = run_flush(state, **SOON)  # (a shorter lease on what a dead flush held)
        except AssertionError as exc:  # the flush process died
            outcome = f"the flush crashed: {str(exc).strip().splitlines()[-1][:300]}"
        # THEN it does not die of it (the poison goes to the dead letters), and the good files are in
        assert isinstance(outcome, dict), outcome
        assert_once(stack, good)
    finally:
        if not isinstance(outcome, dict):  # leave no poison behind for the tests after this one
            pull_until(state, lambda m: m.attributes.get("marker") == marker, 1, timeout=40)


def test_a_second_generation_deleted_before_its_import_is_told_as_its_own_deletion(stack, results_sub):
    # GIVEN a file imported (G1), deleted from the bucket and from the Hub, its deletion told
    state, run = own_state(stack, "rt-g2"), run_id("rtg2")
    name = f"{run}photo.txt"
    g1 = import_files(stack, state, [name])[name]
    delete(stack, [name])
    flush_until(state, lambda _: not held(stack, run))
    first = [b for _, b, _ in take(results_sub, state["LEDGER_PREFIX"], 1, settle=1) if b["kind"] == "delete"]
    assert [b["assets"][0]["generation"] for b in first] == [str(g1)]
    # WHEN it is uploaded again (G2) and deleted again before any flush has imported G2
    g2 = upload(stack, [name], text="v2")[name]
    wait_for_ingest(stack, run, "queued", 2)
    delete(stack, [name])
    wait_for_ingest(stack, run, "deletion queued", 2)
    flush_until(state, lambda s: totals(s, "deletions") >= 1 and totals(s, "deleted_before_import") >= 1)
    # THEN the Hub holds nothing of it (that part works)
    assert held(stack, run) == {}
    # AND the results topic tells G2's deletion as G2's: its own result_id, nothing deleted in the Hub
    told = [(a, b) for a, b, _ in take(results_sub, state["LEDGER_PREFIX"], 1, settle=2) if b["kind"] == "delete"]
    rows = [(a["result_id"].rsplit("@", 1)[-1], b["assets"][0]["generation"], b["assets"][0]["outcome"],
             b["assets"][0]["assetIds"]) for a, b in told]
    # (today: [["<G1>#deleted", "<G1>", "deleted", ["<G1's asset id>"]]], a copy of G1's result)
    assert (f"{g2}#not_imported", str(g2), "not_imported", []) in rows, json.dumps(rows)


def test_a_deletion_whose_delete_answer_was_lost_is_told_as_deleted_with_its_asset_id(stack, healthy_hub,
                                                                                     results_sub):
    # GIVEN a file in the Hub
    state, run = own_state(stack, "rt-lostdel"), run_id("rtlostdel")
    name = f"{run}f.txt"
    import_files(stack, state, [name])
    [asset_id] = [a["_id"] for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if a["externalId"] == name]
    # WHEN it is deleted from the bucket, and the Hub does the DELETE but its answer is lost
    healthy_hub.faults(drop_after_delete=1.0)
    delete(stack, [name])
    wait_for_ingest(stack, run, "deletion queued", 1)
    first = run_flush(state, **FAST, **SOON)
    healthy_hub.faults(drop_after_delete=0.0)
    assert first["deletions"] == 0 and held(stack, run) == {}  # gone from the Hub, not yet recorded
    flush_until(state, lambda s: totals(s, "deletions") >= 1, max_runs=60, **SOON)
    # THEN the ledger and the results topic say what happened: this product soft-deleted that asset
    told = [b["assets"][0] for _, b, _ in take(results_sub, state["LEDGER_PREFIX"], 1, settle=1)
            if b["kind"] == "delete"]
    body = record(stack, state, name)
    # (today: outcome "not_in_hub", assetIds [], and the record's asset_ids [])
    assert [(r["outcome"], r["assetIds"]) for r in told] == [("deleted", [asset_id])], told
    assert body["asset_ids"] == [asset_id], body


def test_a_lost_import_that_lands_after_the_deletion_does_not_stay_in_the_hub(stack, healthy_hub):
    # The design's own horizon: a lost import is stored within HEAL_AFTER_SETTLES (5) settle times, or
    # never. Here: settle time 6 s, the lost import stored 25 s after it was sent (within 30 s).
    settle = {"HUB_SETTLE_SECONDS": "6", **SOON}
    state, run = own_state(stack, "rt-late"), run_id("rtlate")
    name = f"{run}f.txt"
    # GIVEN a file whose import answered 504 and is stored by the Hub only 25 s later
    healthy_hub.faults(slow_commit=1.0, slow_commit_as="504", slow_commit_delay_s=25.0)
    upload(stack, [name])
    wait_for_ingest(stack, run, "queued", 1)
    sent_at = time.monotonic()
    first = run_flush(state, **FAST, **settle)
    healthy_hub.faults(slow_commit=0.0)
    # (the flush may also pull a message an earlier test on this worker left in the stack's one queue:
    # count this file's own import, not the flush's totals)
    assert uncertain_imports(stack, state, run) == [name] and held(stack, run) == {}, first
    # ... settled after the settle time: not found, so sent again (and a heal check scheduled)
    flush_until(state, lambda _: held(stack, run) == {name: 1}, **settle)
    # WHEN the file is deleted from the bucket, and its deletion done, before the lost import lands
    delete(stack, [name])
    wait_for_ingest(stack, run, "deletion queued", 1)
    flush_until(state, lambda s: totals(s, "deletions") >= 1, **settle)
    assert held(stack, run) == {} and time.monotonic() - sent_at < 24, ("too slow to show it", held(stack, run),
                                                                         time.monotonic() - sent_at)
    # ... then the lost import lands, and the flushes go on until every heal check has run
    # (25 s after the stand-in got it, which a busy machine's first flush may send a few seconds late;
    # no flush runs meanwhile, so no check can remove it before it is seen)
    while held(stack, run) != {name: 1} and time.monotonic() < sent_at + 40:
        time.sleep(0.5)
    assert held(stack, run) == {name: 1}, "the lost import must really have landed"
    checks = lambda: list(storage_client().bucket(stack["STATE_BUCKET"]).list_blobs(  # noqa: E731
        prefix=f"{state['MANIFEST_PREFIX']}verify/"))
    flush_until(state, lambda _: not checks(), max_runs=60, **settle)
    # THEN no asset of the deleted file is left in the Hub
    assert held(stack, run) == {}, held(stack, run)


def uncertain_imports(stack, state, prefix: str) -> list[str]:
    """The object names under `prefix` in `state`'s pending manifests sent without a readable answer."""
    manifests = ManifestStore(JsonStore(storage_client().bucket(stack["STATE_BUCKET"])), state["MANIFEST_PREFIX"])
    pending = [manifests.load(path) for path in manifests.pending_paths()]
    return sorted(o.name for m in pending if m and m.state.get("uncertain_since") is not None for o in m.objects
                  if o.name.startswith(prefix))


def test_a_file_deleted_and_uploaded_again_while_a_flush_drains_reaches_the_hub(stack, tmp_path):
    # GIVEN a file uploaded and deleted again (its import G1 and its deletion queued)
    state, run = own_state(stack, "rt-trickle"), run_id("rttrickle")
    name = f"{run}report.txt"
    upload(stack, [name], text="wrong")
    wait_for_ingest(stack, run, "queued", 1)
    delete(stack, [name])
    wait_for_ingest(stack, run, "deletion queued", 1)
    # WHEN a flush drains them one pull at a time (a backlog), and, after it has carried out the
    # deletion, the right file is uploaded under the same name and its import comes in a later pull
    trickled = tmp_path / "trickle.jsonl"
    first = run_flush(state, module="tests.integration.trickle_pubsub", TRICKLE_REUPLOAD=name, TRICKLE_STATS=trickled,
                      FLUSH_BUDGET_SECONDS=30, **FAST)
    flush_until(state, lambda _: True)
    # (the attack happened, by the seam's own count: the deletion pulled, then the file uploaded
    # again, and its import pulled by the same flush)
    done = json.loads(trickled.read_text())
    assert done.get("deletions_pulled", 0) >= 1 and done.get("uploaded_again") == 1 \
        and done.get("pulled_after_upload", 0) >= 1, done
    # THEN the file in the bucket is in the Hub, once
    # (today: G2's import was folded into the held import of G1 as a duplicate; G1's is dropped as
    # deleted before import, and G2's message is acked with it)
    # (at least: a message an earlier test on this worker left in the stack's one queue may come too)
    assert first["pulled"] >= 3 and first["deletions"] >= 1, first
    assert storage_client().bucket(stack["LANDING_BUCKET"]).get_blob(name) is not None  # it is in the bucket
    assert held(stack, run) == {name: 1}, (first, record(stack, state, name))


def test_a_deletion_message_with_a_far_future_generation_does_not_block_the_name_for_good(stack):
    # GIVEN a deletion message (hand-made, or from a buggy publisher: any generation decodes) for a
    # name that is not in the bucket, with a generation no upload will reach for centuries
    state, run = own_state(stack, "rt-future"), run_id("rtfuture")
    name = f"{run}photo.txt"
    data, attributes = DeletionMessage(ObjectRef(stack["LANDING_BUCKET"], name, 9 * 10 ** 18), "deleted",
                                       "by hand").encode()
    publisher_client().publish(settings(state).topic_path, data, **attributes).result(timeout=30)
    flush_until(state, lambda s: totals(s, "deletions") >= 1)
    # WHEN the file is uploaded (a real generation, today's time in microseconds)
    upload(stack, [name])
    wait_for_ingest(stack, run, "queued", 1)
    summaries = flush_until(state, lambda s: totals(s, "pulled") >= 1)
    # THEN it is in the Hub (today: dropped as "deleted before import", acked, never imported)
    assert held(stack, run) == {name: 1}, (summaries[0], record(stack, state, name))


def test_a_file_uploaded_again_after_a_lost_delete_answer_is_in_the_hub(stack, healthy_hub):
    # GIVEN a file in the Hub, deleted from the bucket; the Hub does the DELETE but its answer is lost
    state, run = own_state(stack, "rt-lostagain"), run_id("rtlostagain")
    name = f"{run}report.txt"
    import_files(stack, state, [name])
    healthy_hub.faults(drop_after_delete=1.0)
    delete(stack, [name])
    wait_for_ingest(stack, run, "deletion queued", 1)
    first = run_flush(state, **FAST, **SOON)
    healthy_hub.faults(drop_after_delete=0.0)
    assert first["deletions"] == 0 and held(stack, run) == {}  # gone from the Hub; the deletion comes back
    # WHEN the file is uploaded again before the deletion comes back
    upload(stack, [name], text="v2")
    wait_for_ingest(stack, run, "queued", 2)
    # (its import waits while the deletion is under way, then claims the name anew)
    summaries = flush_until(state, lambda s: totals(s, "deletions") >= 1 and held(stack, run), max_runs=60, **SOON)
    # THEN the file in the bucket is in the Hub, once
    # (before the fix: the import was a duplicate of the record still saying sent, the deletion an overwrite)
    assert held(stack, run) == {name: 1}, (summaries[-2:], record(stack, state, name))
