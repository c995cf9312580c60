"""The results topic's messages, and the marker that makes them at-least-once (no network: a
state bucket in a dict, and a Pub/Sub client whose publishes succeed or fail as the test says)."""
from __future__ import annotations

import json
import threading
from concurrent.futures import Future

import pytest

from hub_import.core.assets import build_asset
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.flush import results
from hub_import.state.manifests import FAILED, PENDING, SENT, ManifestStore
from hub_import.state.store import ConflictError, Doc

DEST = Destination("proj", "storage", ("incoming",), 0)
REFS = [ObjectRef("landing", f"cams/{i} ü #.jpg", 1764000000000000 + i) for i in range(3)]
ASSETS = [build_asset(r, storage="storage") for r in REFS]


class DictStore:
    """The JsonStore operations ManifestStore uses, over a dict; generations count writes. A write
    is atomic, as GCS's is (flushes write from their I/O threads: without the lock two writes could
    take one generation, and a conditional write fail that GCS would let through)."""

    def __init__(self):
        self.docs: dict[str, Doc] = {}
        self.writes = 0
        self.lock = threading.RLock()

    def write(self, path, body, if_generation_match=None):
        with self.lock:
            current = self.docs.get(path)
            if if_generation_match is not None and (current.generation if current else 0) != if_generation_match:
                raise ConflictError(path)
            self.writes += 1
            self.docs[path] = Doc(json.loads(json.dumps(body)), self.writes)
            return self.writes

    def read(self, path):
        return self.docs.get(path)

    def delete(self, path, if_generation_match=None):
        return self.docs.pop(path, None) is not None

    def list(self, prefix):
        return sorted(p for p in self.docs if p.startswith(prefix))


class Publisher:
    """Publishes succeed (kept in `.sent`) unless `failing`, when their futures fail."""

    def __init__(self, failing=False):
        self.failing, self.sent = failing, []

    def publish(self, topic, data, **attributes):
        future = Future()
        if self.failing:
            future.set_exception(RuntimeError("404 topic not found"))
        else:
            self.sent.append((topic, data, attributes))
            future.set_result("message-id")
        return future


def body(data: bytes) -> dict:
    return json.loads(data)


def test_a_sent_manifest_gives_one_message_with_each_object_generation_and_external_id():
    # GIVEN a manifest of three objects, sent
    store, publisher = DictStore(), Publisher()
    hooks = results.Results(publisher, "projects/p/topics/r", "f1", stale_after_s=60)
    manifests = ManifestStore(store, "manifests/", hooks)
    m = manifests.create("manifests/2026/01/02/030405Z-f1-001.json", DEST, ASSETS, REFS, "f1", 30)
    assert manifests.update(m, state=SENT)
    # WHEN the run finishes
    assert hooks.finish(manifests) == 1
    # THEN one message says so, with every asset, and its marker is gone
    [(topic, data, attributes)] = publisher.sent
    message = body(data)
    assert topic == "projects/p/topics/r"
    assert attributes == {"result_id": f"{m.path}#sent", "kind": "import", "state": "sent", "project": "proj"}
    assert message["result_id"] == attributes["result_id"] and message["manifest"] == m.path
    assert message["counts"] == {"assets": 3, "sent": 3} and message["error"] is None
    assert message["batches"] == ["incoming"] and (message["part"], message["parts"]) == (1, 1)
    assert message["assets"] == [{"object": r.uri, "generation": str(r.generation), "externalId": r.name}
                                 for r in REFS]
    assert list(manifests.marked_results()) == []


def test_a_failed_manifest_carries_the_error_and_a_pending_one_publishes_nothing():
    store, publisher = DictStore(), Publisher()
    hooks = results.Results(publisher, "t", "f1", stale_after_s=60)
    manifests = ManifestStore(store, "manifests/", hooks)
    manifests.create("manifests/a-001.json", DEST, ASSETS[:2], REFS[:2], "f1", 30)  # pending
    manifests.create("manifests/a-002-failed.json", DEST, ASSETS[2:], REFS[2:], "f1", 0, state=FAILED,
                     error="404: project not found")
    hooks.finish(manifests)
    [(_, data, attributes)] = publisher.sent
    assert attributes["state"] == "failed" and body(data)["error"] == "404: project not found"
    assert body(data)["counts"] == {"assets": 1, "failed": 1}


def test_a_result_whose_publish_failed_is_published_by_the_next_run_with_the_same_id_and_body():
    # GIVEN a manifest sent while the results topic fails
    store = DictStore()
    down = results.Results(Publisher(failing=True), "t", "f1", stale_after_s=60)
    manifests = ManifestStore(store, "manifests/", down)
    m = manifests.create("manifests/b-001.json", DEST, ASSETS, REFS, "f1", 30)
    manifests.update(m, state=SENT)
    assert down.finish(manifests) == 0
    # THEN the manifest is sent all the same, and its result stays marked
    assert manifests.state_of(m.path)["state"] == SENT
    assert [p for p, _ in manifests.marked_results()] == [m.path]
    # WHEN the next run finishes, and again after a lost confirmation
    up = Publisher()
    for _ in range(2):
        later = ManifestStore(store, "manifests/", results.Results(up, "t", "f2", stale_after_s=60))
        if not list(later.marked_results()):
            later._mark_result(m.path)  # as if the confirmation had been lost
        later.results.finish(later)
    # THEN the same result went out twice: same result_id, same bytes
    assert len(up.sent) == 2 and up.sent[0][1:] == up.sent[1][1:]
    assert list(later.marked_results()) == []


def test_a_marker_whose_manifest_never_became_final_is_dropped_once_stale():
    store, publisher = DictStore(), Publisher()
    manifests = ManifestStore(store, "manifests/", results.Results(publisher, "t", "f1", stale_after_s=60))
    m = manifests.create("manifests/c-001.json", DEST, ASSETS, REFS, "f1", 30)
    manifests._mark_result(m.path)  # a run died between the marker and the final state
    manifests.results.finish(manifests)
    assert [p for p, _ in manifests.marked_results()] == [m.path], "young: its run may still settle it"
    manifests.results.stale_after_s = -1
    manifests.results.finish(manifests)
    assert list(manifests.marked_results()) == [] and publisher.sent == []
    assert manifests.state_of(m.path)["state"] == PENDING


def test_a_replay_mark_on_a_failed_manifest_is_no_second_result():
    store, publisher = DictStore(), Publisher()
    manifests = ManifestStore(store, "manifests/", results.Results(publisher, "t", "f1", stale_after_s=60))
    m = manifests.create("manifests/d-001-failed.json", DEST, ASSETS, REFS, "f1", 0, state=FAILED, error="x")
    manifests.update(m, replayed_as="manifests/e-001.json")
    manifests.results.finish(manifests)
    assert len(publisher.sent) == 1


def test_results_off_writes_no_marker():
    store = DictStore()
    manifests = ManifestStore(store, "manifests/")
    m = manifests.create("manifests/f-001.json", DEST, ASSETS, REFS, "f1", 30)
    manifests.update(m, state=SENT)
    assert not [p for p in store.docs if "/results/" in p]


def test_a_large_result_is_cut_into_parts_each_with_its_own_id_and_every_asset_once(monkeypatch):
    monkeypatch.setattr(results, "MAX_BODY_BYTES", 400)
    rows = [{"object": f"gs://b/{i:04d}.jpg", "generation": "1", "externalId": f"{i:04d}.jpg"} for i in range(20)]
    parts = results.messages(kind="import", project="p", manifest="m.json", state="sent", rows=rows, at=0)
    bodies = [body(data) for data, _ in parts]
    assert len(parts) > 1 and [b["part"] for b in bodies] == list(range(1, len(parts) + 1))
    assert {b["parts"] for b in bodies} == {len(parts)}
    assert [r for b in bodies for r in b["assets"]] == rows
    assert len({a["result_id"] for _, a in parts}) == len(parts)
    assert all(b["counts"] == {"assets": 20, "sent": 20} for b in bodies)


def test_a_deletion_publishes_its_own_rows_and_counts_by_outcome():
    rows = [{"object": "gs://b/a.jpg", "generation": "7", "externalId": "a.jpg", "assetIds": ["x1"],
             "outcome": "deleted"},
            {"object": "gs://b/b.jpg", "generation": "8", "externalId": "b.jpg", "outcome": "not_found"}]
    publisher = Publisher()
    assert results.publish(publisher, "t", kind="delete", project="p", manifest="deletions/1.json",
                           state="deleted", rows=rows, at=1_764_000_000)
    [(_, data, attributes)] = publisher.sent
    assert attributes["kind"] == "delete" and attributes["result_id"] == "deletions/1.json#deleted"
    assert body(data)["counts"] == {"assets": 2, "deleted": 1, "not_found": 1}
    assert body(data)["assets"][0]["assetIds"] == ["x1"] and body(data)["at"] == "2025-11-24T16:00:00Z"
    assert not results.publish(Publisher(failing=True), "t", kind="delete", project="p", manifest="d.json",
                               state="deleted", rows=rows)


def test_a_row_without_object_or_external_id_is_refused():
    with pytest.raises(results.ResultError):
        results.messages(kind="delete", project="p", manifest="m", state="deleted", rows=[{"object": "gs://b/a"}])
