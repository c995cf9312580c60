"""Issue 22: backfill queues only the landing bucket's objects; the flush would dead-letter any
other bucket's, so backfill refuses such a target before listing or queuing anything."""
from __future__ import annotations

import pytest

from hub_import.core.settings import load
from hub_import.ops import cli
from hub_import.ops.backfill import backfill

ENV = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing",
       "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st", "PUBSUB_EMULATOR_HOST": "127.0.0.1:9"}


class NoClient:
    def bucket(self, name):
        raise AssertionError(f"bucket {name} listed")


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_backfill_of_another_bucket_is_refused_before_anything_is_listed(dry_run):
    with pytest.raises(ValueError, match="bucket confidential-bucket is not the landing bucket"):
        backfill(load(ENV), "gs://confidential-bucket/hr", dry_run=dry_run, client=NoClient())


def test_the_cli_says_why_and_fails(monkeypatch, capsys):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    assert cli.main(["backfill", "gs://confidential-bucket/hr"]) == 2
    assert "FAIL backfill: bucket confidential-bucket is not the landing bucket (landing)" in capsys.readouterr().err
