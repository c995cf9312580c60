"""`backfill --dry-run` says of each file whether it is new, already in the Hub (the ledger says it
was sent: no Hub call), or skipped, with the reason; and counts each. Before, it said "207 would
queue" of 207 files all in the Hub already. Its --json names each route as an object, not as a
string like "demo-project []". (No network: the bucket is a list of blobs, the state bucket a dict.)"""
from __future__ import annotations

import io
import json
import sys
from datetime import datetime, timezone
from types import SimpleNamespace

from hub_import.core.objects import ObjectRef
from hub_import.core.settings import load
from hub_import.ops import cli
from hub_import.ops.backfill import backfill
from hub_import.state.ledger import FAILED, Ledger
from tests.unit.flush.test_early_claims import Store

ENV = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing",
       "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st", "HUB_BATCHES": "incoming",
       "PUBSUB_EMULATOR_HOST": "127.0.0.1:9"}


def blob(name: str, generation: int = 1):
    return SimpleNamespace(bucket=SimpleNamespace(name="landing"), name=name, generation=generation, size=10,
                           content_type="image/jpeg", md5_hash="", crc32c="",
                           time_created=datetime(2026, 1, 1, tzinfo=timezone.utc), metadata={})


class Client:
    def __init__(self, blobs):
        self.blobs = blobs

    def bucket(self, name):
        return SimpleNamespace(list_blobs=lambda **kw: iter(self.blobs))


def sent(ledger: Ledger, names: list[str], manifest: str = "manifests/m1.json") -> None:
    """`names` imported as the flush records it: claimed for a manifest, then its sent marker."""
    for name in names:
        ledger.claim(ObjectRef("landing", name, 1), manifest, "f0", name, project="proj")
    ledger.mark_sent(manifest, len(names))
    ledger._sent.clear()  # a later run knows only what the state bucket says


def test_files_already_in_the_hub_are_not_called_new():
    # GIVEN 207 files all sent before (the ledger says so)
    names = [f"old/{i:03d}.jpg" for i in range(207)]
    ledger = Ledger(Store(), "ledger/", False)
    sent(ledger, names)
    # WHEN a dry run looks at them
    report = backfill(load(ENV), "gs://landing/old", dry_run=True, client=Client([blob(n) for n in names]),
                      ledger=ledger)
    # THEN none is new, each is in the Hub, and the evidence is named
    assert (report.listed, report.new, report.in_hub, report.skipped) == (207, 0, 207, 0)
    assert {f.verdict for f in report.files} == {"in_hub"}
    assert "the ledger says sent in manifests/m1.json" in report.files[0].reason


def test_each_file_is_new_in_the_hub_or_skipped_with_its_reason_and_each_is_counted():
    # GIVEN a new file, a sent one, a failed one, and one today's rules skip
    store = Store()
    ledger = Ledger(store, "ledger/", False)
    sent(ledger, ["b.jpg"])
    ledger.claim(ObjectRef("landing", "c.jpg", 1), "manifests/m2-failed.json", "f0", "c.jpg")
    ledger.settle(ObjectRef("landing", "c.jpg", 1), FAILED, "manifests/m2-failed.json", "f0", "c.jpg")
    blobs = [blob("a.jpg"), blob("b.jpg"), blob("c.jpg"), blob("tmp/")]
    report = backfill(load(ENV), "gs://landing", dry_run=True, client=Client(blobs), ledger=ledger)
    verdicts = {f.object.rsplit("/", 1)[-1] or "tmp/": (f.verdict, f.reason) for f in report.files}
    assert verdicts["a.jpg"] == ("new", "")
    assert verdicts["b.jpg"][0] == "in_hub"
    assert verdicts["c.jpg"][0] == "skipped" and "failed in manifests/m2-failed.json" in verdicts["c.jpg"][1]
    assert [f.verdict for f in report.files][3] == "skipped" and report.files[3].reason == "folder placeholder"
    assert (report.new, report.in_hub, report.skipped, report.queued) == (1, 1, 2, 2)


def run_cli(monkeypatch, blobs, ledger_store, *args) -> str:
    import hub_import.core.clients as clients
    import hub_import.state.store as state_store

    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(clients, "storage_client", lambda: Client(blobs))
    monkeypatch.setattr(state_store, "JsonStore", lambda bucket: ledger_store)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert cli.main(["backfill", "gs://landing", "--dry-run", *args]) == 0
    return out.getvalue()


def test_the_command_prints_each_files_verdict_and_the_counts(monkeypatch):
    store = Store()
    sent(Ledger(store, "ledger/", False), ["b.jpg"])
    out = run_cli(monkeypatch, [blob("a.jpg"), blob("b.jpg")], store)
    assert "new      gs://landing/a.jpg" in out
    assert "in_hub   gs://landing/b.jpg  (the ledger says sent in manifests/m1.json)" in out
    assert "2 files listed: 1 new, 1 already in the Hub (the ledger says sent), 0 skipped" in out


def test_backfill_json_fields_and_types(monkeypatch):
    store = Store()
    sent(Ledger(store, "ledger/", False), ["b.jpg"])
    body = json.loads(run_cli(monkeypatch, [blob("a.jpg"), blob("b.jpg"), blob("tmp/")], store, "--json"))
    assert {k: type(v) for k, v in body.items()} == {
        "dry_run": bool, "listed": int, "queued": int, "skipped": int, "routes": list, "skipped_by_reason": list,
        "seconds": float, "new": int, "in_hub": int, "files": list}
    [route] = body["routes"]
    assert route == {"project": "proj", "storage": "st", "batches": ["incoming"], "count": 2,
                     "examples": ["a.jpg", "b.jpg"]}
    assert body["skipped_by_reason"] == [{"reason": "folder placeholder", "count": 1, "examples": ["tmp/"]}]
    assert body["files"][0] == {"object": "gs://landing/a.jpg", "verdict": "new", "reason": "",
                                "route": {"project": "proj", "storage": "st", "batches": ["incoming"]}}
    assert body["files"][2]["route"] is None
