"""Deletions follow the bucket (ON_DELETE=delete), judged by what the Hub stand-in holds: a file
deleted from the landing bucket leaves the Hub once, an overwrite deletes nothing, a redelivered
deletion is one Hub delete, a file uploaded again after its deletion is imported again, and
with the default (ignore) a deletion changes nothing.

The stack's ingest function follows deletions (conftest SETTINGS); each test has a ledger and
manifests of its own (`own_state`) and flushes at 6,000 calls a minute (the stand-in's limit is
off), so that finding 200 assets does not take two minutes of the real Hub's pace."""
from __future__ import annotations

import math
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from hub_import.core.clients import publisher_client, storage_client
from hub_import.core.messages import DeletionMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import load
from tests.integration.conftest import wait_for_ingest
from tests.integration.flushing import held, hub, own_state, record, report, run_flush
from tests.integration.flush.test_results import results_sub, take  # noqa: F401 - a fixture
from tests.integration.ops.test_trace import verdict

FAST = {"HUB_REQUESTS_PER_MINUTE": "6000"}
# A deferred message comes back after half the claim timeout, 2 * 5 + 10 + HUB_TIMEOUT_SECONDS:
# the tests that wait for one shorten that wait with a short Hub timeout.
SOON = {"HUB_TIMEOUT_SECONDS": "2"}
DELETE_ROUTE = "DELETE /v2/project/<project_id>/assets"


@pytest.fixture(autouse=True)
def healthy_hub(stack):
    """The Hub stand-in; conftest's every_switch_reset starts and ends each test with every switch
    as the stack started."""
    return hub(stack)


def run_id(kind: str) -> str:
    return f"del-{kind}-{uuid.uuid4().hex[:8]}/"


def upload(stack, names, text: str = "v1") -> dict[str, int]:
    """Upload text files (no image probe); their generations."""
    bucket = storage_client().bucket(stack["LANDING_BUCKET"])

    def put(name):
        blob = bucket.blob(name)
        blob.upload_from_string(f"{text} {name}", content_type="text/plain")
        return name, blob.generation
    with ThreadPoolExecutor(16) as pool:
        return dict(pool.map(put, names))


def delete(stack, names) -> None:
    bucket = storage_client().bucket(stack["LANDING_BUCKET"])
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: bucket.blob(n).delete(), names))


def flush_until(state, done, max_runs: int = 30, **extra) -> list[dict]:
    """Flush (as the scheduler does) until `done(summaries so far)`, then once more; the summaries."""
    summaries = []
    for _ in range(max_runs):
        summaries.append(run_flush(state, **{**FAST, **extra}))
        if done(summaries):
            summaries.append(run_flush(state, **{**FAST, **extra}))
            return summaries
        time.sleep(0.3)
    raise AssertionError(f"not done after {max_runs} flushes: {summaries[-2:]}")


def import_files(stack, state, names, **extra) -> dict[str, int]:
    generations = upload(stack, names)
    prefix = names[0].split("/")[0] + "/"
    flush_until(state, lambda _: len(held(stack, prefix)) == len(names), **extra)
    return generations


def deletes(stack) -> tuple[int, int, int]:
    """So far: DELETE calls, assets of the project soft-deleted, ids named in a DELETE when no
    longer live (a second delete of the same asset)."""
    stats = hub(stack).stats()
    return (sum(stats["requests"].get(DELETE_ROUTE, {}).values()), stats["deleted"].get(stack["HUB_PROJECT_ID"], 0),
            stats["requests"].get("soft-delete ids", {}).get("not live", 0))


def totals(summaries, key: str) -> int:
    return sum(s[key] for s in summaries)


def test_200_files_deleted_from_the_bucket_leave_the_hub_each_once(stack):
    # GIVEN 200 files imported into the Hub
    state, run = own_state(stack, "del200"), run_id("200")
    names = [f"{run}f {i:03d}.txt" for i in range(200)]
    import_files(stack, state, names)
    calls_before, deleted_before, twice_before = deletes(stack)
    started = time.monotonic()
    # WHEN they are deleted from the bucket, and the flush runs once the deletions are queued
    delete(stack, names)
    wait_for_ingest(stack, run, "deletion queued", 200)
    summaries = flush_until(state, lambda _: not held(stack, run))
    # THEN the Hub holds none of them, each soft-deleted once, in ceil(200 / 100) DELETE calls
    calls, deleted, twice = deletes(stack)
    assert held(stack, run) == {}
    assert deleted - deleted_before == 200 and twice == twice_before
    # (batched per pull: the emulator may hand the 200 deletions over in two or three pulls)
    assert math.ceil(200 / 100) <= calls - calls_before <= math.ceil(200 / 100) + 2
    assert totals(summaries, "deleted_assets") == 200 and totals(summaries, "deletions") == 200
    body = record(stack, state, names[7])
    assert body["state"] == "deleted" and len(body["asset_ids"]) == 1 and body["project"] == stack["HUB_PROJECT_ID"]
    report("200 deleted", seconds=round(time.monotonic() - started, 1), delete_calls=calls - calls_before,
           hub_calls=totals(summaries, "hub_calls"), flushes=len(summaries))


def test_50_overwritten_files_delete_nothing(stack):
    # GIVEN 50 files in the Hub
    state, run = own_state(stack, "over"), run_id("over")
    names = [f"{run}f {i:02d}.txt" for i in range(50)]
    import_files(stack, state, names)
    before = {a["externalId"]: a["_id"] for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if run in a["externalId"]}
    counts_before = deletes(stack)
    # WHEN each is overwritten (GCS announces the generation it replaces as deleted)
    upload(stack, names, text="v2")
    wait_for_ingest(stack, run, "not a deletion", 50)  # the ingest function saw those, and let them go
    wait_for_ingest(stack, run, "queued", 100)  # and queued the new generations (duplicates: ON_OVERWRITE=skip)
    summaries = flush_until(state, lambda _: True)
    # THEN the Hub holds the same 50 assets, and nothing was deleted
    after = {a["externalId"]: a["_id"] for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if run in a["externalId"]}
    assert after == before
    assert deletes(stack) == counts_before
    assert totals(summaries, "deletions") == 0 and totals(summaries, "duplicates") == 50


def test_a_deletion_meeting_a_live_generation_at_the_flush_is_an_overwrite(stack):
    # GIVEN 5 files in the Hub, deleted, their deletions queued, then uploaded again before the flush
    state, run = own_state(stack, "race"), run_id("race")
    names = [f"{run}f {i}.txt" for i in range(5)]
    import_files(stack, state, names)
    ids = {a["_id"] for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if run in a["externalId"]}
    delete(stack, names)
    wait_for_ingest(stack, run, "deletion queued", 5)
    upload(stack, names, text="again")
    wait_for_ingest(stack, run, "queued", 10)
    calls_before = deletes(stack)[0]
    # WHEN the flush takes the deletions (before the imports of the same pull)
    summaries = flush_until(state, lambda _: True)
    # THEN nothing is deleted: the assets (whose URL names the file) show the new upload
    assert {a["_id"] for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if run in a["externalId"]} == ids
    assert deletes(stack)[0] == calls_before
    assert totals(summaries, "deletions") == 5 and totals(summaries, "deleted_assets") == 0


def test_a_deletion_redelivered_three_times_is_one_hub_delete_and_one_result(stack, results_sub):
    # GIVEN 5 files in the Hub, deleted from the bucket, their deletions done
    state, run = own_state(stack, "redeliver"), run_id("redeliver")
    names = [f"{run}f {i}.txt" for i in range(5)]
    generations = import_files(stack, state, names)
    calls_before, deleted_before, twice_before = deletes(stack)
    delete(stack, names)
    wait_for_ingest(stack, run, "deletion queued", 5)
    flush_until(state, lambda _: not held(stack, run))
    # WHEN each deletion is delivered 3 more times (Eventarc and Pub/Sub deliver at least once)
    topic = load({**stack, **state}).topic_path
    messages = [DeletionMessage(ObjectRef(stack["LANDING_BUCKET"], n, generations[n]), "deleted", "again")
                for n in names]
    for f in [publisher_client().publish(topic, *m.encode()[:1], **m.encode()[1]) for m in messages for _ in range(3)]:
        f.result(timeout=30)
    summaries = flush_until(state, lambda _: True)
    # THEN the Hub saw one DELETE, of each asset once; the copies were acked as done
    assert deletes(stack) == (calls_before + 1, deleted_before + 5, twice_before)
    assert totals(summaries, "deletions") == 5 and totals(summaries, "deleted_assets") == 0
    # AND the results topic told each deletion under one result_id, every copy the same bytes
    told = [t for t in take(results_sub, state["LEDGER_PREFIX"], 5, settle=2) if t[0]["kind"] == "delete"]
    by_id = {}
    for attributes, body, data in told:
        by_id.setdefault(attributes["result_id"], set()).add(data)
    assert len(by_id) == 5 and all(len(copies) == 1 for copies in by_id.values())
    rows = [body["assets"][0] for _, body, _ in told]
    assert {r["object"].rsplit("/", 1)[-1] for r in rows} == {n.rsplit("/", 1)[-1] for n in names}
    assert all(r["outcome"] == "deleted" and len(r["assetIds"]) == 1 for r in rows)


def test_a_file_uploaded_again_after_its_deletion_is_imported_again(stack):
    # GIVEN a file imported, then deleted from the bucket and from the Hub
    state, run = own_state(stack, "again"), run_id("again")
    name = f"{run}photo.txt"
    import_files(stack, state, [name])
    [first] = [a["_id"] for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if a["externalId"] == name]
    delete(stack, [name])
    flush_until(state, lambda _: not held(stack, run))
    said = verdict(stack, f"gs://{stack['LANDING_BUCKET']}/{name}", **state)
    assert said.startswith("deleted from the Hub at ") and f"(asset {first} soft-deleted in project" in said, said
    # WHEN it is uploaded again
    generation = upload(stack, [name], text="v2")[name]
    flush_until(state, lambda _: held(stack, run) == {name: 1})
    # THEN it is in the Hub again, once, as a new asset
    [second] = [a["_id"] for a in hub(stack).all_assets(stack["HUB_PROJECT_ID"]) if a["externalId"] == name]
    assert second != first
    body = record(stack, state, name)
    assert body["generation"] == generation and body["state"] in ("claimed", "sent")
    assert verdict(stack, f"gs://{stack['LANDING_BUCKET']}/{name}", **state).startswith("in the Hub once since")


def test_a_file_deleted_before_its_import_never_reaches_the_hub(stack):
    # GIVEN 20 files uploaded and deleted again before any flush: both events are queued
    state, run = own_state(stack, "early"), run_id("early")
    names = [f"{run}f {i:02d}.txt" for i in range(20)]
    upload(stack, names)
    wait_for_ingest(stack, run, "queued", 20)
    delete(stack, names)
    wait_for_ingest(stack, run, "deletion queued", 20)
    # WHEN the flush runs (the deletions of a pull go first and leave a record)
    summaries = flush_until(state, lambda _: True)
    # THEN none of them is in the Hub, and the imports were dropped
    assert held(stack, run) == {}
    assert totals(summaries, "deleted_before_import") == 20 and totals(summaries, "sent") == 0
    assert record(stack, state, names[0])["state"] == "deleted"


def test_a_deletion_waits_while_the_import_is_pending_then_deletes_it(stack, healthy_hub):
    # GIVEN a file whose import's answer was lost (stored, but its manifest pending, settling)
    state, run = own_state(stack, "pending"), run_id("pending")
    name = f"{run}f.txt"
    healthy_hub.faults(drop_after_commit=1.0)
    upload(stack, [name])
    settling = {"HUB_SETTLE_SECONDS": "60", **SOON}  # long past what a loaded machine takes for the next steps
    flush_until(state, lambda _: held(stack, run) == {name: 1}, **settling)
    healthy_hub.faults(drop_after_commit=0.0)
    # WHEN it is deleted from the bucket while the import settles
    delete(stack, [name])
    wait_for_ingest(stack, run, "deletion queued", 1)
    waited = run_flush(state, **FAST, **settling)
    # THEN the deletion waits (nothing is deleted yet) ...
    assert waited["deletions"] == 0 and held(stack, run) == {name: 1}
    # ... and once the import has settled (the stack's settle time, 2 s), the asset leaves the Hub
    summaries = flush_until(state, lambda _: not held(stack, run), max_runs=60, **SOON)
    assert totals(summaries, "deleted_assets") == 1
    assert record(stack, state, name)["state"] == "deleted"


@pytest.mark.soak  # 150 deletions in 5-second flushes: under make test's load each flush's budget goes on
# the ledger and marker reads and the deletions never finish (issue 23's note); make soak runs it
def test_a_delete_whose_answer_is_lost_is_listed_again_and_finished_once(stack, healthy_hub):
    # GIVEN 150 files in the Hub, which refuses a delete naming an id no longer live
    state, run = own_state(stack, "lost"), run_id("lost")
    names = [f"{run}f {i:03d}.txt" for i in range(150)]
    import_files(stack, state, names)
    healthy_hub.faults(delete_unknown_ids="400", drop_after_delete=1.0)
    calls_before, deleted_before, twice_before = deletes(stack)
    # WHEN they are deleted, and the first DELETE (100 ids) is done but its answer lost
    delete(stack, names)
    wait_for_ingest(stack, run, "deletion queued", 150)
    first = run_flush(state, **FAST, **SOON)
    healthy_hub.faults(drop_after_delete=0.0)
    lost, left = deletes(stack)[0] - calls_before, len(held(stack, run))
    assert first["deletions"] == 0 and lost >= 1 and left < 150  # deleted, but nothing recorded or acked
    # THEN the next turns list again and delete only what is left: every asset once, no id twice
    # (until every deletion is recorded: the messages of a lost DELETE come back after a while)
    summaries = flush_until(state, lambda done: totals(done, "deletions") >= 150, max_runs=60, **SOON)
    calls, deleted, twice = deletes(stack)
    assert held(stack, run) == {}
    assert deleted - deleted_before == 150 and twice == twice_before
    assert calls - calls_before == lost + math.ceil(left / 100)
    # (those the lost DELETE removed are recorded deleted too, with their ids, from its intent)
    assert totals(summaries, "deletions") == 150 and totals(summaries, "deleted_assets") == 150
    assert record(stack, state, names[0])["state"] == "deleted"


def test_each_generation_imported_only_the_deleted_ones_asset_leaves(stack):
    # GIVEN ON_OVERWRITE=import: a file and its overwrite, each its own asset
    each = {"ON_OVERWRITE": "import", "EXTERNAL_ID_TEMPLATE": "{name}#{generation}"}
    state, run = own_state(stack, "gens"), run_id("gens")
    name = f"{run}f.txt"
    g1 = import_files(stack, state, [name], **each)[name]
    g2 = upload(stack, [name], text="v2")[name]
    flush_until(state, lambda _: len(held(stack, run)) == 2, **each)
    # WHEN the file is deleted from the bucket
    delete(stack, [name])
    flush_until(state, lambda _: len(held(stack, run)) == 1, **each)
    # THEN only the deleted generation's asset left; the overwritten one's stays
    assert held(stack, run) == {f"{name}#{g1}": 1}
    assert record(stack, state, name, g2, each_generation=True)["state"] == "deleted"
    assert record(stack, state, name, g1, each_generation=True)["state"] in ("claimed", "sent")


def test_by_default_deletions_change_nothing(stack):
    from cloudevents.http import CloudEvent

    from hub_import.ingest.events import DELETED
    from hub_import.ingest.handler import handle_event

    # GIVEN 10 files in the Hub, deleted from the bucket
    state, run = own_state(stack, "ignore"), run_id("ignore")
    names = [f"{run}f {i}.txt" for i in range(10)]
    import_files(stack, state, names)
    counts_before = deletes(stack)
    delete(stack, names)
    # WHEN an ingest function with the default ON_DELETE=ignore gets the deletion event
    ignore = load({**stack, **state, "ON_DELETE": "ignore"})
    event = CloudEvent({"type": DELETED, "source": "//storage.googleapis.com/projects/_/buckets/landing",
                        "id": "e-ignore", "subject": f"objects/{names[0]}"},
                       {"bucket": stack["LANDING_BUCKET"], "name": names[0], "generation": "5", "size": "3"})
    assert handle_event(event, ignore) == "ignored"
    # AND a flush with ON_DELETE=ignore meets the deletions another ingest queued
    wait_for_ingest(stack, run, "deletion queued", 10)
    summaries = flush_until(state, lambda _: True, ON_DELETE="ignore")
    # THEN the Hub keeps every asset, and the deletions are done with (acked, not retried)
    assert len(held(stack, run)) == 10 and deletes(stack) == counts_before
    assert totals(summaries, "deletions") == 10 and totals(summaries, "deleted_assets") == 0


def test_files_deleted_while_the_listing_lags_leave_the_hub_each_once(stack, healthy_hub):
    # GIVEN a Hub whose listing shows an asset 15 s after its import, a settle time beyond it (20 s),
    # and 30 files imported
    lagging = {"HUB_SETTLE_SECONDS": "20", **SOON}
    healthy_hub.faults(list_lag_s=15)
    state, run = own_state(stack, "lag"), run_id("lag")
    names = [f"{run}f {i:02d}.txt" for i in range(30)]
    import_files(stack, state, names, **lagging)
    calls_before, deleted_before, twice_before = deletes(stack)
    # WHEN 15 of them are deleted from the bucket at once, before the listing shows them
    delete(stack, names[:15])
    wait_for_ingest(stack, run, "deletion queued", 15)
    summaries = flush_until(state, lambda done: totals(done, "deletions") >= 15, max_runs=80, **lagging)
    # THEN each left the Hub once (none recorded "not in the Hub" while unlisted), the other 15 stay
    assert held(stack, run) == {n: 1 for n in names[15:]}
    calls, deleted, twice = deletes(stack)
    assert deleted - deleted_before == 15 and twice == twice_before
    assert totals(summaries, "deletions") == 15 and totals(summaries, "deleted_assets") == 15
    assert {record(stack, state, n)["state"] for n in names[:15]} == {"deleted"}


def test_an_asset_made_by_hand_under_a_deleted_files_external_id_stays_when_rows_show_no_data(stack, healthy_hub):
    # GIVEN a file imported, and an asset made by hand in the Hub under the same externalId
    state, run = own_state(stack, "nodata"), run_id("nodata")
    name = f"{run}f.txt"
    import_files(stack, state, [name])
    answer = requests.post(f"{stack['HUB_API_URL']}/v2/project/{stack['HUB_PROJECT_ID']}/cloud",
                           headers={"apikey": stack["HUB_API_KEY"]}, timeout=10,
                           json={"assets": [{"externalId": name, "data": "https://example.com/by-hand.jpg"}]})
    assert answer.status_code == 201, answer.text
    # WHEN the Hub's listing rows carry no data URL, and the file is deleted from the bucket
    healthy_hub.faults(list_data=False)
    calls_before = deletes(stack)[0]
    delete(stack, [name])
    wait_for_ingest(stack, run, "deletion queued", 1)
    summaries = flush_until(state, lambda done: totals(done, "deletions") >= 1)
    # THEN nothing that cannot be proven ours is deleted: both assets stay, counted as left
    assert held(stack, run) == {name: 2} and deletes(stack)[0] == calls_before
    assert totals(summaries, "assets_left_unproven") == 2 and totals(summaries, "deleted_assets") == 0
    assert record(stack, state, name)["state"] == "deleted"


def test_imports_whose_answers_are_lost_settle_once_while_the_listing_lags(stack, healthy_hub):
    # GIVEN a Hub whose listing shows an asset 15 s after its import, a settle time beyond it (20 s),
    # and imports it stores but whose answers it loses
    lagging = {"HUB_SETTLE_SECONDS": "20", **SOON}
    healthy_hub.faults(list_lag_s=15, drop_after_commit=1.0)
    state, run = own_state(stack, "lagsettle"), run_id("lagsettle")
    names = [f"{run}f {i}.txt" for i in range(5)]
    upload(stack, names)
    flush_until(state, lambda _: len(held(stack, run)) == 5, **lagging)
    healthy_hub.faults(drop_after_commit=0.0)
    # WHEN the flush settles them (a reconcile after the settle time, when the listing shows them)
    summaries = flush_until(state, lambda done: totals(done, "found_in_hub") >= 5, max_runs=80, **lagging)
    # THEN each is in the Hub once: found, not sent again
    assert held(stack, run) == {n: 1 for n in names}
    assert totals(summaries, "sent") == 5 and totals(summaries, "found_in_hub") == 5
