"""Filters and routes: which objects go to the Hub, where, and why the others do not."""
from __future__ import annotations

import pytest

from hub_import.core.decisions import decide
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import glob_matches
from hub_import.core.settings import load

BASE = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing",
        "HUB_PROJECT_ID": "default-proj", "HUB_STORAGE_ID": "st"}


def ref(name, size=10, content_type="", bucket="landing"):
    return ObjectRef(bucket=bucket, name=name, generation=1, size=size, content_type=content_type)


@pytest.mark.parametrize("glob,name,expected", [
    ("*.jpg", "a.jpg", True), ("*.jpg", "d/a.jpg", False), ("**/*.jpg", "d/e/a.jpg", True),
    ("**/*.jpg", "a.jpg", True), ("cams/**", "cams/x/y.png", True), ("cams/*", "cams/x/y.png", False),
    ("img_??.png", "img_01.png", True), ("img_[0-9].png", "img_5.png", True),
    ("img_[!0-9].png", "img_5.png", False), ("a+b (1).jpg", "a+b (1).jpg", True), ("**", "anything/at all", True),
])
def test_globs(glob, name, expected):
    assert glob_matches(glob, name) is expected


def test_first_matching_route_wins_and_the_default_takes_the_rest():
    s = load({**BASE, "HUB_ROUTES": '[{"prefix": "cams/night/", "project": "night"},'
                                     ' {"glob": "cams/**", "project": "cams", "priority": 9}]'})
    assert decide(ref("cams/night/1.jpg"), s).destination.project == "night"
    assert decide(ref("cams/day/1.jpg"), s).destination.project == "cams"
    assert decide(ref("cams/day/1.jpg"), s).destination.priority == 9
    assert decide(ref("other/1.jpg"), s).destination.project == "default-proj"


def test_without_a_default_an_unrouted_object_is_skipped_with_a_reason():
    s = load({**BASE, "HUB_PROJECT_ID": "", "HUB_ROUTES": '[{"prefix": "cams/", "project": "c"}]'})
    assert "no route" in decide(ref("x/1.jpg"), s).reason


@pytest.mark.parametrize("obj,env,reason", [
    (ref("dir/"), {}, "folder placeholder"),
    (ref("a.jpg", size=0), {}, "empty object"),
    (ref("manifests/2026/x.json", bucket="state"), {}, "own state"),
    (ref("anything.jpg", bucket="state"), {}, "own state"),
    (ref("tmp/a.jpg"), {"EXCLUDE_GLOBS": "tmp/**, *.part"}, "EXCLUDE_GLOBS"),
    (ref("a.jpg.part"), {"EXCLUDE_GLOBS": "tmp/**,*.part"}, "EXCLUDE_GLOBS"),
    (ref("other/a.jpg"), {"INCLUDE_GLOBS": "cams/**"}, "INCLUDE_GLOBS"),
    (ref("big.mp4", size=10**10), {"MAX_OBJECT_BYTES": "1000000"}, "MAX_OBJECT_BYTES"),
    (ref("setup.exe", content_type="text/plain"), {}, "type not allowed"),
    (ref("noext", content_type="application/octet-stream"), {}, "type not allowed"),
])
def test_each_filter_skips_with_its_reason(obj, env, reason):
    decision = decide(obj, load({**BASE, **env}))
    assert decision.destination is None and reason in decision.reason


@pytest.mark.parametrize("obj,env", [
    (ref("a.JPG"), {}),
    (ref("noext", content_type="image/png"), {}),
    (ref("a.jpg", size=0), {"SKIP_EMPTY_OBJECTS": "false"}),
    (ref("manifests/a.jpg", bucket="landing"), {}),
    (ref("cams/a.jpg"), {"INCLUDE_GLOBS": "cams/**"}),
    (ref("x.weird", content_type="image/x-weird"), {"ALLOWED_EXTENSIONS": ""}),
    (ref("x.weird"), {"ALLOWED_EXTENSIONS": "", "ALLOWED_CONTENT_TYPES": ""}),
])
def test_eligible_objects_pass(obj, env):
    assert decide(obj, load({**BASE, **env})).destination is not None


def test_the_state_bucket_shared_with_landing_only_skips_the_state_prefixes():
    s = load({**BASE, "STATE_BUCKET": "landing"})
    assert decide(ref("ledger/x.json"), s).destination is None
    assert decide(ref("photos/x.jpg"), s).destination is not None


def test_a_queued_message_is_not_dropped_at_flush_for_a_template_its_object_cannot_fill():
    """A message queued before `{meta.camera}` was configured carries no metadata: ingest would skip
    such an object today, but the flush keeps the destination ingest resolved then."""
    s = load({**BASE, "HUB_BATCHES": "cam-{meta.camera}"})
    assert "camera" in decide(ref("a.jpg"), s).reason
    assert decide(ref("a.jpg"), s, resolve=False).destination.project == "default-proj"
    assert decide(ref("a.exe"), s, resolve=False).destination is None, "the filters still apply"
