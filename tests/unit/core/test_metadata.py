"""An object's custom metadata travels with it: into the asset's contextData as configured (a value
too big left out with the reason), and, when allowed, as a route of its own for that one object."""
from __future__ import annotations

import json
import logging

import pytest

from hub_import.core.assets import Asset
from hub_import.core.decisions import decide
from hub_import.core.messages import MessageError, ObjectMessage
from hub_import.core.metadata import CONTEXT_MAX_BYTES, context_data
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.settings import ConfigError, load
from hub_import.flush.destinations import asset_for
from hub_import.ingest.events import MalformedEventError, object_from_event

BASE = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing",
        "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st", "HUB_BATCHES": "incoming", "HUB_PRIORITY": "2"}
DEST = Destination("proj", "st")


def ref(name="cams/a.jpg", **metadata) -> ObjectRef:
    return ObjectRef("landing", name, 7, 10, "image/jpeg", time_created="2024-03-05T10:00:00Z", metadata=metadata)


# -- contextData --------------------------------------------------------------------------------
def test_by_default_no_metadata_goes_into_context_data():
    asset = asset_for(load(BASE), ref(camera="cam7"), DEST)
    assert "contextData" not in asset.to_json()


def test_the_configured_keys_become_context_data_and_the_rest_stay_out():
    asset = asset_for(load({**BASE, "HUB_CONTEXT_KEYS": "camera, site,absent"}),
                      ref(camera="cam7", site="north", secret="x"), DEST)
    assert asset.to_json()["contextData"] == {"camera": "cam7", "site": "north"}
    assert Asset.from_json(json.loads(json.dumps(asset.to_json()))) == asset  # as manifests keep it


def test_a_star_takes_every_key_but_the_reserved_ones():
    data, left_out = context_data({"b": "2", "a": "1", "hub-project": "p", "hub-batches": "x"}, ("*",), 100)
    assert data == {"a": "1", "b": "2"} and not left_out


def test_a_value_too_big_is_left_out_with_the_reason_and_the_object_still_goes(caplog):
    s = load({**BASE, "HUB_CONTEXT_KEYS": "camera,notes", "MAX_CONTEXT_VALUE_BYTES": "16"})
    with caplog.at_level(logging.WARNING, logger="hub_import"):
        asset = asset_for(s, ref(camera="cam7", notes="é" * 9), DEST, flush_id="f1")  # 18 bytes in UTF-8
    assert asset.context_data == {"camera": "cam7"} and asset.external_id == "cams/a.jpg"
    [record] = [r for r in caplog.records if "left out of contextData" in r.getMessage()]
    assert record.fields["key"] == "notes" and "18 bytes" in record.fields["reason"]
    assert "MAX_CONTEXT_VALUE_BYTES=16" in record.fields["reason"] and record.fields["flush_id"] == "f1"


def test_context_data_stops_short_of_its_total_size():
    metadata = {f"k{i:02d}": "v" * 1000 for i in range(6)}
    data, left_out = context_data(metadata, ("*",), 2000)
    assert sum(len(k) + len(v) for k, v in data.items()) <= CONTEXT_MAX_BYTES
    assert len(data) == 4 and [k for k, _ in left_out] == ["k04", "k05"]
    assert all(f"{CONTEXT_MAX_BYTES} bytes" in why for _, why in left_out)


def test_a_reserved_key_is_refused_as_a_context_key():
    with pytest.raises(ConfigError, match="^HUB_CONTEXT_KEYS: hub-priority"):
        load({**BASE, "HUB_CONTEXT_KEYS": "camera,hub-priority"})


# -- a route of its own ---------------------------------------------------------------------------
OVERRIDE = {"hub-project": "other_proj-2", "hub-batches": "b1, b2", "hub-priority": "-40"}


def test_overrides_are_ignored_unless_allowed():
    assert decide(ref(**OVERRIDE), load(BASE)).destination == Destination("proj", "st", ("incoming",), 2)


def test_when_allowed_the_reserved_keys_route_that_one_object():
    s = load({**BASE, "HUB_METADATA_OVERRIDES": "true"})
    dest = decide(ref(**OVERRIDE), s).destination
    assert (dest.project, dest.storage, dest.batches, dest.priority) == ("other_proj-2", "st", ("b1", "b2"), -40)
    assert dict(dest.templates) == {"b1": "metadata hub-batches", "b2": "metadata hub-batches"}  # capped as a template
    assert decide(ref(**{"hub-priority": "9"}), s).destination == Destination("proj", "st", ("incoming",), 9)
    assert decide(ref(), s).destination == Destination("proj", "st", ("incoming",), 2)


@pytest.mark.parametrize("metadata,reason", [
    ({"hub-priority": "1001"}, "hub-priority '1001' is not a whole number from -1000 to 1000"),
    ({"hub-priority": "high"}, "hub-priority 'high'"),
    ({"hub-priority": "1_0"}, "hub-priority '1_0'"),
    ({"hub-project": ""}, "hub-project '' is not a project id"),
    ({"hub-project": "../../storages"}, "is not a project id"),
    ({"hub-batches": "a,,b"}, "a batch name in metadata hub-batches 'a,,b' is empty"),
    ({"hub-batches": ""}, "is empty"),
])
def test_an_invalid_override_skips_the_object_with_the_reason(metadata, reason):
    decision = decide(ref(**metadata), load({**BASE, "HUB_METADATA_OVERRIDES": "true"}))
    assert decision.destination is None and reason in decision.reason


def test_an_override_of_batches_replaces_the_route_templates():
    s = load({**BASE, "HUB_METADATA_OVERRIDES": "true", "HUB_BATCHES": "cam-{meta.camera}"})
    assert decide(ref(**{"hub-batches": "mine"}), s).destination.batches == ("mine",)  # no camera: no matter


# -- carried by events, messages and manifests ------------------------------------------------------
class Event(dict):
    def __init__(self, data):
        super().__init__(type="google.cloud.storage.object.v1.finalized", id="e1")
        self.data = data


def test_the_finalize_event_carries_the_custom_metadata():
    resource = {"bucket": "landing", "name": "a.jpg", "generation": "5", "metadata": {"camera": "cam7"}}
    assert object_from_event(Event(resource), 1e12).metadata == {"camera": "cam7"}
    with pytest.raises(MalformedEventError, match="metadata"):
        object_from_event(Event({**resource, "metadata": {"camera": 7}}), 1e12)


def test_a_message_carries_metadata_and_templates_and_an_old_one_without_them_still_reads():
    message = ObjectMessage(ref(camera="cam7"), Destination("proj", "st", ("d-2024", "x"), 1, (("d-2024", "d-{date}"),)))
    assert ObjectMessage.decode(message.encode()[0]) == message
    old = {"v": 1, "object": {"bucket": "landing", "name": "a.jpg", "generation": 3},
           "destination": {"project": "proj", "storage": "st", "batches": ["x"], "priority": 0}}
    decoded = ObjectMessage.decode(json.dumps(old).encode())
    assert decoded.ref.metadata == {} and decoded.destination.templates == ()
    assert "metadata" not in json.loads(ObjectMessage(ref(), DEST).encode()[0])["object"]


@pytest.mark.parametrize("where,value", [
    ("object", {"metadata": ["camera"]}), ("object", {"metadata": {"camera": 7}}), ("object", {"metadata": {"": "x"}}),
    ("object", {"metadata": {"k": "\ud800"}}), ("destination", {"templates": ["x"]}),
    ("destination", {"templates": {"not-a-batch": "t"}}), ("destination", {"templates": {"x": 5}}),
])
def test_malformed_new_fields_make_a_poison_message(where, value):
    body = json.loads(ObjectMessage(ref(), Destination("proj", "st", ("x",))).encode()[0])
    body[where].update(value)
    with pytest.raises(MessageError, match=where):
        ObjectMessage.decode(json.dumps(body).encode())
