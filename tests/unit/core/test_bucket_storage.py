"""Finding the landing bucket's Hub storage integration in the Hub's list: one is used, none means
wait, two or more are refused by name; and the words every part of the product says it in."""
from __future__ import annotations

from hub_import.core.bucket_storage import AMBIGUOUS, FOUND, WAITING, Finding, find, waiting_line

ROWS = [{"_id": "s-other", "type": "gcs", "bucket": "someone-elses"},
        {"_id": "s-landing", "type": "gcs", "bucket": "landing"}]


def test_the_one_integration_whose_bucket_is_the_landing_bucket_is_used():
    finding = find(ROWS, "landing", at=1.0)
    assert finding.state == FOUND and finding.storage_id == "s-landing"
    assert finding.says() == "Hub storage integration s-landing reads bucket landing (found in the Hub)"


def test_with_none_the_flush_waits_and_says_what_to_do_without_a_re_apply():
    finding = find(ROWS, "my-team-labeling-inbox")
    assert finding.state == WAITING and finding.storage_id is None
    assert finding.says() == waiting_line("my-team-labeling-inbox") == (
        "waiting for a Hub storage integration for bucket my-team-labeling-inbox: create it in the Hub "
        "(Organization > Storages); nothing to re-apply")


def test_two_or_more_are_refused_each_named():
    finding = find(ROWS + [{"_id": "s-again", "type": "GCP", "bucket": "gs://landing/"}], "landing")
    assert finding.state == AMBIGUOUS and finding.storage_id is None
    assert finding.ids == ("s-again", "s-landing")
    assert "2 Hub storage integrations read bucket landing (s-again, s-landing)" in finding.says()
    assert "hub_storage_id" in finding.says()


def test_another_clouds_bucket_of_the_same_name_and_rows_without_an_id_do_not_count():
    rows = [{"_id": "s3", "type": "aws", "bucket": "landing"}, {"type": "gcs", "bucket": "landing"},
            {"_id": "untyped", "bucket": "Landing"}]
    assert find(rows, "landing").ids == ("untyped",)


def test_a_finding_survives_its_record():
    finding = find(ROWS, "landing", at=5.0)
    assert Finding.from_json(finding.to_json()) == finding
    assert finding.to_json()["says"] == finding.says() and finding.to_json()["state"] == FOUND
