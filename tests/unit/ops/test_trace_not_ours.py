"""`trace` lists every asset the Hub holds under a file's externalId, and marks whether its data URL
is the file's (`ours`). An asset someone made by hand under the same externalId (another data URL)
is not a copy of the file: the verdict must not call the file duplicated (`audit --fix` never
removes such an asset, so the advice could never be followed), nor in the Hub when only that
asset is there. A row showing no data URL cannot be told (the Hub's listing without data) and
counts as the file's, as before. Found by the simulation's operations check (tests/simulation/agree.py)."""
from __future__ import annotations

from tests.unit.ops.test_trace_verdict import OBJECT, copy, made, manifest, record

BY_HAND = {"id": "hand1", "project": "p", "externalId": "a.jpg", "createdAt": "2027-01-15T07:00:00.000Z",
           "data": "https://files.example.com/by-hand/a.jpg", "ours": False}


def test_a_file_in_the_hub_once_beside_a_hand_made_asset_is_in_the_hub_once():
    t = made(hub={"copies": [BY_HAND, copy(1)], "asked": []}, manifests=[manifest("sent")], ledger=[record(sent=True)])
    assert t.outcome == "in_hub", t.verdict
    assert "asset asset1" in t.verdict and "hand1" in t.verdict  # the other asset is named, as not the file's


def test_a_deleted_file_whose_externalid_a_hand_made_asset_shares_is_deleted():
    gone = {**record("deleted"), "asset_ids": ["asset1"], "project": "p", "deleted_generation": 7}
    t = made(object=None, hub={"copies": [BY_HAND], "asked": []}, ledger=[gone])
    assert t.outcome == "deleted", t.verdict


def test_rows_without_data_still_count_as_the_files_copies():
    unknown = [{**copy(i), "data": None, "ours": False} for i in (1, 2)]
    assert made(hub={"copies": unknown, "asked": []}).outcome == "duplicated"


def test_each_generation_in_the_hub_once_is_not_a_duplicate():
    # ON_OVERWRITE=import: every generation is its own asset, under its own externalId
    older = {**copy(1), "externalId": "a.jpg#3"}
    current = {**copy(2), "externalId": "a.jpg#7"}
    rec = {**record(sent=True), "generation": 7, "external_id": "a.jpg#7"}
    t = made(hub={"copies": [current, older], "asked": []}, ledger=[rec])
    assert t.outcome == "in_hub", t.verdict
    assert "(asset asset2)" in t.verdict and "a.jpg#3" in t.verdict
    assert made(hub={"copies": [current, {**current, "id": "asset3"}], "asked": []}).outcome == "duplicated"


def test_a_newer_generation_rejected_is_failed_not_an_older_ones_deletion():
    # ON_OVERWRITE=import: one record per generation; generation 7 left the bucket before it was imported,
    # generation 9 (live) was rejected by the Hub (found by the simulation, soak seed 100682)
    old = {**record("deleted"), "generation": 7, "deleted_generation": 7, "asset_ids": [], "note": "never in the Hub",
           "project": "p"}
    new = {**record("failed"), "generation": 9, "external_id": "a.jpg#9",
           "manifest": manifest("failed")["path"]}
    t = made(object={**OBJECT, "generation": 9}, ledger=[old, new],
             manifests=[manifest("failed", generation=9, error="unknown storage id 's'")])
    assert t.outcome == "failed", t.verdict
    # a newer generation with no record yet: the deletion still says it was uploaded again since
    t = made(object={**OBJECT, "generation": 9}, ledger=[old])
    assert t.outcome == "deleted" and t.verdict.endswith("uploaded again since (generation 9), not imported yet")
