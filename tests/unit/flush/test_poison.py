"""Poison never crashes anything: whatever bytes a queue message or an event carries, decoding
gives a well-formed message or object, or the one error that says what is wrong with it."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub_import.core.messages import DeletionMessage, MessageError, ObjectMessage, decode_message
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.text import cut_utf8
from hub_import.flush.dead_letters import DELIVERY_COUNT, MAX_ATTRIBUTES, envelope, unwrap
from hub_import.ingest.events import EventError, object_from_event

GOOD = ObjectMessage(ObjectRef("landing", "cams/ü 1.jpg", 17, size=5, content_type="image/jpeg"),
                     Destination("proj", "st", ("b",), 3), (64, 48), "ev-1", "event")
GOOD_BODY = json.loads(GOOD.encode()[0])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def mutations():
    """A good body with one field (at any depth) replaced by any JSON value, or removed."""
    paths = [(k,) for k in GOOD_BODY] + [("object", k) for k in GOOD_BODY["object"]] + \
            [("destination", k) for k in GOOD_BODY["destination"]]
    return st.tuples(st.sampled_from(paths), st.none() | json_values, st.booleans())


def mutate(path, value, remove) -> dict:
    body = json.loads(json.dumps(GOOD_BODY))
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    if remove:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return body


def decoded_or_refused(data: bytes):
    """Decode `data`; a success must be a message whose every field has its type."""
    try:
        message = ObjectMessage.decode(data)
    except MessageError as exc:
        assert str(exc)
        return None
    message.ref.checked()
    assert isinstance(message.destination.project, str) and message.destination.project
    assert all(isinstance(b, str) for b in message.destination.batches)
    assert message.size is None or all(type(n) is int for n in message.size)
    again = ObjectMessage.decode(message.encode()[0])  # what decodes, encodes and decodes the same
    assert again == message
    return message


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_are_refused_as_a_message_error(data):
    decoded_or_refused(data)


@settings(max_examples=400)
@given(json_values)
def test_any_json_decodes_or_is_refused_as_a_message_error(value):
    decoded_or_refused(json.dumps(value).encode())


@settings(max_examples=1500)
@given(mutations())
def test_a_good_message_with_any_field_changed_decodes_or_is_refused(change):
    decoded_or_refused(json.dumps(mutate(*change)).encode())


@pytest.mark.parametrize("body,why", [
    (b"", "not a JSON message"),
    (b"\xff\xfe\x00garbage", "not a JSON message"),
    (b"[" * 100_000, "not a JSON message"),
    (b"[1, 2]", "expected a JSON object"),
    (json.dumps({**GOOD_BODY, "v": 3}).encode(), "unknown message version 3"),
    (json.dumps({**GOOD_BODY, "v": 2}).encode(), "kind: expected 'delete'"),
    (json.dumps({**GOOD_BODY, "v": True}).encode(), "unknown message version True"),
    (json.dumps({**GOOD_BODY, "v": "1"}).encode(), "unknown message version '1'"),
    (json.dumps({**GOOD_BODY, "object": "gs://landing/a.jpg"}).encode(), "object: expected a JSON object"),
    (json.dumps(mutate(("object", "name"), 42, False)).encode(), "name must be a non-empty string"),
    (json.dumps(mutate(("object", "generation"), "abc", False)).encode(), "generation must be a whole number"),
    (json.dumps(mutate(("object", "generation"), -1, False)).encode(), "generation must be a whole number"),
    (json.dumps(mutate(("object", "name"), "x" * 1025, False)).encode(), "name is longer than 1024 bytes"),
    (json.dumps(mutate(("object", "name"), "\ud800", False)).encode(), "name is not valid Unicode"),
    (json.dumps(mutate(("object", "bucket"), None, True)).encode(), "object: bucket missing"),
    (json.dumps(mutate(("destination", "batches"), "night", False)).encode(), "batches must be a list"),
    (json.dumps(mutate(("destination", "priority"), 5000, False)).encode(), "priority must be"),
    (json.dumps(mutate(("destination", "project"), "", False)).encode(), "project must be a non-empty"),
    (json.dumps(mutate(("size",), [1, "2"], False)).encode(), "size: expected [width, height]"),
])
def test_each_kind_of_poison_is_refused_with_its_reason(body, why):
    with pytest.raises(MessageError, match=None) as raised:
        ObjectMessage.decode(body)
    assert why in str(raised.value)


# -- deletion messages (ON_DELETE=delete) ------------------------------------------------------
GONE = DeletionMessage(ObjectRef("landing", "cams/ü 1.jpg", 17, size=5), "archived", "ev-2", "event")
GONE_BODY = json.loads(GONE.encode()[0])


def test_a_message_written_before_deletions_existed_still_decodes_as_an_object_to_import():
    old = ('{"v":1,"object":{"bucket":"landing","name":"a b.jpg","generation":7,"size":3,"content_type":"image/jpeg",'
           '"md5_hash":"","crc32c":"","time_created":""},"destination":{"project":"p","storage":"s","batches":["b"],'
           '"priority":0},"size":[4,3],"event_id":"e","source":"event"}').encode()
    message = decode_message(old)
    assert isinstance(message, ObjectMessage) and message == ObjectMessage.decode(old)
    assert (message.ref.name, message.destination.batches, message.size) == ("a b.jpg", ("b",), (4, 3))


def test_a_deletion_decodes_as_a_deletion_and_never_as_an_object_to_import():
    data, attributes = GONE.encode()
    assert decode_message(data) == GONE and attributes["kind"] == "delete"
    with pytest.raises(MessageError, match="a deletion message, not an object to import"):
        ObjectMessage.decode(data)


@settings(max_examples=800)
@given(st.tuples(st.sampled_from([(k,) for k in GONE_BODY] + [("object", k) for k in GONE_BODY["object"]]),
                 st.none() | json_values, st.booleans()))
def test_a_good_deletion_with_any_field_changed_decodes_or_is_refused(change):
    (path, value, remove) = change
    body = json.loads(json.dumps(GONE_BODY))
    parent = body if len(path) == 1 else body[path[0]]
    if remove:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    try:
        message = decode_message(json.dumps(body).encode())
    except MessageError as exc:
        assert str(exc)
        return
    message.ref.checked()
    assert decode_message(message.encode()[0]) == message


@pytest.mark.parametrize("change,why", [
    ({"kind": "import"}, "kind: expected 'delete'"),
    ({"event": "finalized"}, "event: expected one of deleted, archived"),
    ({"object": None}, "object: expected a JSON object"),
    ({"event_id": 5}, "event_id: expected a string"),
])
def test_each_kind_of_poison_deletion_is_refused_with_its_reason(change, why):
    with pytest.raises(MessageError) as raised:
        decode_message(json.dumps({**GONE_BODY, **change}).encode())
    assert why in str(raised.value)


# -- events -------------------------------------------------------------------------------------
class Event(dict):
    """A CloudEvent as functions-framework hands it over: attributes by key, data as an attribute."""

    def __init__(self, data, **attributes):
        super().__init__(attributes)
        self.data = data


RESOURCE = {"bucket": "landing", "name": "a/b.jpg", "generation": "1700000000000001", "size": "12",
            "contentType": "image/jpeg", "md5Hash": "x", "crc32c": "y", "timeCreated": "2026-01-01T00:00:00Z"}
NOW = datetime(2026, 1, 1, 0, 1, tzinfo=timezone.utc)


def parsed_or_refused(event):
    try:
        ref = object_from_event(event, max_age_s=86400, now=NOW)
    except EventError as exc:
        assert str(exc)
        return None
    return ref.checked()


@settings(max_examples=600)
@given(st.sampled_from(sorted(RESOURCE)), st.none() | json_values, st.booleans())
def test_an_event_with_any_field_changed_parses_or_is_refused_as_an_event_error(key, value, remove):
    data = dict(RESOURCE)
    if remove:
        del data[key]
    else:
        data[key] = value
    parsed_or_refused(Event(data, type="google.cloud.storage.object.v1.finalized", id="e"))
    parsed_or_refused(Event(json.dumps(data).encode(), type="google.cloud.storage.object.v1.finalized", id="e"))


@settings(max_examples=300)
@given(json_values, st.none() | json_values, st.none() | json_values)
def test_any_event_data_type_and_time_parse_or_are_refused_as_an_event_error(data, kind, stamp):
    parsed_or_refused(Event(data, type=kind, time=stamp))
    parsed_or_refused(Event(data, type="google.cloud.storage.object.v1.finalized", time=stamp))
    parsed_or_refused(Event({**RESOURCE, "timeCreated": stamp}, type="google.cloud.storage.object.v1.finalized",
                            time=stamp))


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_any_event_bytes_parse_or_are_refused_as_an_event_error(data):
    parsed_or_refused(Event(data, type="google.cloud.storage.object.v1.finalized"))


# -- dead letters within Pub/Sub's limits --------------------------------------------------------
@given(st.text(max_size=3000), st.integers(min_value=4, max_value=1024))
def test_cut_utf8_keeps_within_the_byte_limit_on_a_character_boundary(text, limit):
    cut = cut_utf8(text, limit)
    assert len(cut.encode()) <= limit
    assert cut == text.encode("utf-8", "replace").decode() or cut.endswith("…")


def test_a_dead_letter_keeps_the_whole_reason_in_its_body_and_short_attributes():
    reason = "Hub rejected: " + "Größe ungültig – 寸法が不正です " * 200  # far over 1,024 bytes
    attributes = {f"k{i}": "ü" * 1024 for i in range(100)}  # a hostile message at Pub/Sub's limits
    body, short = envelope(b"\xff not json", attributes, reason, "f1")
    assert json.loads(body)["reason"] == reason
    assert len(short) <= MAX_ATTRIBUTES and all(len(v.encode()) <= 1024 for v in short.values())
    assert short["reason"].startswith("Hub rejected: Größe") and short["flush"] == "f1"


class Received:
    """A pulled message as the subscriber client hands it over."""

    def __init__(self, data: bytes, attributes: dict, message_id: str = "m1"):
        self.ack_id = "a-" + message_id
        self.message = type("Message", (), {"data": data, "attributes": attributes, "message_id": message_id})()


def test_every_form_of_dead_letter_unwraps_to_its_original_and_its_reason():
    data, attributes = GOOD.encode()
    # Ours: an envelope with the whole reason.
    body, short = envelope(data, attributes, "Hub rejected: " + "ß" * 2000, "f1")
    ours = unwrap(Received(body, short))
    assert (ours.data, ours.attributes, ours.reason) == (data, attributes, "Hub rejected: " + "ß" * 2000)
    assert ours.object == "gs://landing/cams/ü 1.jpg"
    # Pub/Sub's own, after max_delivery_attempts: the original as it was.
    theirs = unwrap(Received(data, {**attributes, DELIVERY_COUNT: "100"}))
    assert theirs.data == data and theirs.attributes == attributes and "100 deliveries" in theirs.reason
    # The form before envelopes: the original body with a reason attribute.
    old = unwrap(Received(data, {**attributes, "reason": "undecodable", "flush": "f0"}))
    assert old.data == data and old.attributes == attributes and old.reason == "undecodable"
    # An envelope that is not one (garbage in the body) is the original itself.
    odd = unwrap(Received(b'{"dead_letter": 1, "data_b64": 5}', {}))
    assert odd.data == b'{"dead_letter": 1, "data_b64": 5}' and odd.object == "(unknown object)"
