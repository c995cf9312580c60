"""`replay --failed` sends the generation of a file that is live now. (Issue 23: a file rejected
by the Hub and since fixed in the bucket by a new upload was rebuilt from the old generation: its
ledger record, its result and its image size named a version that no longer exists.) The new
upload's own import is acked as a duplicate of the failed record, so replay is its only way in;
a file gone since is not sent; one whose new upload is ledgered already is left to that import.
(No network: the state bucket is a dict, the Hub a fake, the landing bucket a dict of live objects.)"""
from __future__ import annotations

from hub_import.core.assets import Asset
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import load
from hub_import.flush.run import Flush
from hub_import.ops.replay import _route_today
from hub_import.state.ledger import CLAIMED, FAILED
from hub_import.state.manifests import FAILED as MANIFEST_FAILED
from tests.unit.flush.test_flush_in_memory import DEST, ENV, Hub, ListingStore, Subscriber
from tests.unit.flush.test_result_messages import Publisher

NAME = "cams/a.jpg"
OLD = ObjectRef("landing", NAME, 1764000000000001, size=10, content_type="image/jpeg")
NEW = ObjectRef("landing", NAME, 1764000000000002, size=20, content_type="image/jpeg")


def failed_flush(live: dict, record_generation: int | None = None, record_state: str = FAILED):
    """A flush whose state bucket holds a failed manifest of OLD (its record failed, or as given);
    the landing bucket holds `live` (name -> ObjectRef)."""
    flush = Flush(load(ENV), Hub(), ListingStore(), Subscriber(), Publisher())
    flush.live_object = lambda ref: live.get(ref.name)
    asset = Asset(external_id=NAME, data=f"https://storage.googleapis.com/landing/{NAME}", storage="st",
                  width=640, height=480)
    manifest = flush.manifests.create("manifests/2026/11/26/m1.json", DEST, [asset], [OLD], "f1", 30,
                                      state=MANIFEST_FAILED, error="400: bad image")
    generation = record_generation or OLD.generation
    flush.ledger.store.write(flush.ledger.path(OLD), {
        "state": record_state, "object": OLD.uri, "generation": generation, "external_id": NAME,
        "manifest": manifest.path if generation == OLD.generation else "manifests/2026/11/26/m2.json",
        "project": "proj", "data": asset.data, "at": 0})
    return flush, manifest


def test_replay_failed_sends_the_generation_live_now_not_the_one_rejected():
    # GIVEN a rejected file, fixed in the bucket by a new upload (whose own import met the failed record)
    flush, manifest = failed_flush({NAME: NEW})
    # WHEN replay --failed routes it again
    plan, skipped, already = _route_today(flush, manifest)
    # THEN the live generation is sent, without the old version's image size
    [(ref, asset)] = [row for rows in plan.values() for row in rows]
    assert ref.generation == NEW.generation and ref.size == NEW.size
    assert (asset.width, asset.height) == (None, None)
    assert (skipped, already) == (0, 0)


def test_replay_failed_sends_nothing_for_a_file_gone_from_the_bucket():
    flush, manifest = failed_flush({})
    plan, skipped, already = _route_today(flush, manifest)
    assert plan == {} and skipped == 1


def test_replay_failed_leaves_a_fixed_file_to_its_own_import_when_that_is_ledgered():
    # GIVEN the new upload claimed for its own import already (its manifest under way)
    flush, manifest = failed_flush({NAME: NEW}, record_generation=NEW.generation, record_state=CLAIMED)
    plan, skipped, already = _route_today(flush, manifest)
    # THEN replay sends nothing of it: no duplicate
    assert plan == {} and already == 1


def test_replay_failed_of_a_file_unchanged_keeps_its_generation_and_size():
    flush, manifest = failed_flush({NAME: OLD})
    plan, _, _ = _route_today(flush, manifest)
    [(ref, asset)] = [row for rows in plan.values() for row in rows]
    assert ref.generation == OLD.generation and (asset.width, asset.height) == (640, 480)
