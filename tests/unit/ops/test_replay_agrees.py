"""`replay` agrees with the product: `replay --failed` acks the dead letters of the files it brought
into the Hub (before, `status` still showed them until `replay --dead-letters` was run too); a dry
run says of each manifest what the real run then does (it said "would replay" of a settling
manifest that the real run left alone); times are ISO 8601 UTC with a Z. (A Flush over the
in-memory fakes; no network.)"""
from __future__ import annotations

import json
from types import SimpleNamespace

from hub_import.core import clock
from hub_import.core.assets import Asset
from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import load
from hub_import.flush.run import Flush
from hub_import.ops.replay import replay
from hub_import.state.ledger import FAILED
from hub_import.state.manifests import FAILED as MANIFEST_FAILED
from tests.unit.flush.test_flush_in_memory import DEST, ENV, Hub, ListingStore, Subscriber
from tests.unit.flush.test_result_messages import Publisher

A = ObjectRef("landing", "cams/a.jpg", 1, size=10, content_type="image/jpeg")
OTHER = ObjectRef("landing", "cams/other.jpg", 1, size=10, content_type="image/jpeg")


class Inbox:
    """The dead-letter subscription people read: hands out its letters once, records acks."""

    def __init__(self, *refs: ObjectRef):
        self.letters = []
        for i, ref in enumerate(refs):
            data, attributes = ObjectMessage(ref, DEST).encode()
            self.letters.append(SimpleNamespace(ack_id=f"ack-{ref.name}", message=SimpleNamespace(
                message_id=f"m{i}", data=data, attributes={**attributes, "reason": "400: unknown storage id"})))
        self.acked, self.released, self.pulls = [], [], 0

    def pull(self, **kwargs):
        self.pulls += 1
        return SimpleNamespace(received_messages=self.letters if self.pulls == 1 else [])

    def acknowledge(self, subscription, ack_ids):
        self.acked += ack_ids

    def modify_ack_deadline(self, subscription, ack_ids, ack_deadline_seconds):
        self.released += ack_ids


class ReplayHub(Hub):
    """Takes every import; asked first what it holds of a replayed manifest (reconcile), it holds none."""

    def reconcile(self, project, wanted, *, since, progress, max_calls, deadline=None):
        return True


def failed_flush(*refs: ObjectRef) -> tuple[Flush, str]:
    """A flush whose state bucket holds one failed manifest of `refs` (their records failed), all live."""
    flush = Flush(load(ENV), ReplayHub(), ListingStore(), Subscriber(), Publisher())
    flush.live_object = lambda ref: ref
    assets = [Asset(external_id=r.name, data=f"https://storage.googleapis.com/landing/{r.name}", storage="st")
              for r in refs]
    manifest = flush.manifests.create("manifests/2026/11/26/000000Z-f0-001-failed.json", DEST, assets, list(refs),
                                      "f0", 30, state=MANIFEST_FAILED, error="400: unknown storage id")
    for ref, asset in zip(refs, assets):
        flush.ledger.store.write(flush.ledger.path(ref), {
            "state": FAILED, "object": ref.uri, "generation": ref.generation, "external_id": ref.name,
            "manifest": manifest.path, "project": "proj", "data": asset.data, "at": 0})
    return flush, manifest.path


def test_replay_failed_acks_the_dead_letter_of_the_file_it_brought_in_and_no_other():
    # GIVEN a failed file with its dead letter, and another file's dead letter (not replayed)
    flush, path = failed_flush(A)
    inbox = Inbox(A, OTHER)
    # WHEN replay --failed sends it
    report = replay(flush, [path], inbox=inbox)
    # THEN it is in the Hub, its dead letter acked; the other's handed back
    assert flush.hub.imported == [A.name]
    assert report.manifests[0]["outcome"] == "replayed" and report.manifests[0]["sent"] == 1
    assert inbox.acked == [f"ack-{A.name}"] and inbox.released == [f"ack-{OTHER.name}"]
    assert report.dead_letters_acked == 1


def test_a_dry_run_acks_nothing():
    flush, path = failed_flush(A)
    inbox = Inbox(A)
    report = replay(flush, [path], dry_run=True, inbox=inbox)
    assert report.manifests[0]["outcome"] == "would_replay" and inbox.acked == [] and flush.hub.imported == []


def settling_flush() -> tuple[Flush, str]:
    """A pending manifest whose import's answer was lost: it settles 60 s from now."""
    flush = Flush(load(ENV), Hub(), ListingStore(), Subscriber(), Publisher())
    asset = Asset(external_id=A.name, data=f"https://storage.googleapis.com/landing/{A.name}", storage="st")
    manifest = flush.manifests.create("manifests/2026/11/26/000000Z-f0-002.json", DEST, [asset], [A], "f0", 0,
                                      uncertain_since=clock.now() - 5, not_before=clock.now() + 60)
    flush.manifests.update(manifest, lease_until=0)
    return flush, manifest.path


def test_a_dry_run_says_of_a_settling_manifest_what_the_real_run_does():
    # GIVEN a manifest that settles in a minute
    flush, path = settling_flush()
    # WHEN a dry run, then a real run, look at it
    dry = replay(flush, [path], dry_run=True).manifests[0]
    real = replay(flush, [path]).manifests[0]
    # THEN both leave it alone, saying the same, with the time in UTC
    assert dry == real and dry["outcome"] == "settling" and flush.hub.imported == []
    assert dry["not_before"].endswith("Z") and dry["not_before"] in dry["detail"]


def test_replay_json_fields_and_types():
    flush, path = failed_flush(A)
    body = json.loads(json.dumps(replay(flush, [path], inbox=Inbox(A)).to_json()))
    assert {k: type(v) for k, v in body.items()} == {"dry_run": bool, "manifests": list, "dead_letters_acked": int}
    [m] = body["manifests"]
    assert {k: type(v) for k, v in m.items()} == {
        "manifest": str, "outcome": str, "detail": str, "state": str, "replayed_as": str, "assets": int, "sent": int,
        "already_in_hub": int, "failed": int, "skipped_by_rules": int}
    flush, path = settling_flush()
    [m] = replay(flush, [path], dry_run=True).to_json()["manifests"]
    assert {k: type(v) for k, v in m.items()} == {"manifest": str, "outcome": str, "detail": str, "state": str,
                                                  "not_before": str}


def test_replay_dead_letters_json_fields_and_types():
    from collections import Counter

    from hub_import.ops.dead_letter_inbox import BringBackReport

    report = BringBackReport(republished=2, already_in_hub=1, kept=Counter({"still failing: x": 3}),
                             examples={"still failing: x": "gs://landing/a.jpg"}, dry_run=True)
    body = json.loads(json.dumps(report.to_json()))
    assert {k: type(v) for k, v in body.items()} == {"republished": int, "already_in_hub": int, "kept": list,
                                                     "dry_run": bool}
    assert body["kept"] == [{"reason": "still failing: x", "count": 3, "example": "gs://landing/a.jpg"}]
