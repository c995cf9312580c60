"""Issue 22: a message on the assets topic is a request, not an order. Anyone with publish rights
on the topic can write one; the flush imports (or deletes) only what this deployment could have
queued itself: an object of the landing bucket, bound for a destination today's routes produce.
What it refuses is dead-lettered with the reason, and acked only once the dead letter is
confirmed. (A whole flush over fakes, as test_flush_in_memory.py builds it; no network.)"""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from hub_import.core.admission import refusal
from hub_import.core.messages import DeletionMessage, ObjectMessage
from hub_import.core.metadata import BATCHES_SOURCE
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.settings import load
from hub_import.flush.run import Flush
from tests.unit.flush.test_flush_in_memory import ENV, Hub, ListingStore, Subscriber
from tests.unit.flush.test_result_messages import Publisher

ROUTES = [{"prefix": "cams/", "project": "cams", "storage": "st-cams", "batches": ["cams-{date}"]}]
SETTINGS_ENV = {**ENV, "HUB_ROUTES": json.dumps(ROUTES)}
DEST = Destination(project="proj", storage="st", batches=("incoming",))
DEAD_LETTERS = "projects/p/topics/hub-import-dead-letter"


class ProjectHub(Hub):
    """Takes every import, and remembers the project each went to."""

    def __init__(self):
        super().__init__()
        self.projects = []

    def import_assets(self, project, assets, **kwargs):
        super().import_assets(project, assets, **kwargs)
        self.projects += [project] * len(assets)


def run_flush(env: dict, *messages, publisher=None):
    """One flush over `messages` (each (ack id, ObjectMessage or DeletionMessage)); the Hub, the
    subscriber, the publisher, the summary."""
    hub, publisher = ProjectHub(), publisher or Publisher()
    subscriber = Subscriber([(ack_id, m.encode()) for ack_id, m in messages])
    summary = Flush(load(env), hub, ListingStore(), subscriber, publisher).run()
    return hub, subscriber, publisher, summary


def dead_letter_reasons(publisher) -> list[str]:
    return [attributes["reason"] for topic, _, attributes in publisher.sent if "dead-letter" in topic]


def obj(name: str, bucket: str = "landing", dest: Destination = DEST, **fields) -> ObjectMessage:
    return ObjectMessage(ObjectRef(bucket, name, 1, size=10, **fields), dest, (10, 10))


def test_a_forged_message_naming_another_bucket_and_project_is_dead_lettered_not_imported():
    # GIVEN the forgery of issue 22: bucket confidential-bucket, project victim-project, beside a legit one
    forged = obj("hr/salaries.pdf", bucket="confidential-bucket", dest=Destination("victim-project", "st"))
    # WHEN a flush pulls them
    hub, subscriber, publisher, summary = run_flush(SETTINGS_ENV, ("f1", forged), ("ok1", obj("a.jpg")))
    # THEN only the legit object reaches the Hub; the forgery is dead-lettered, saying why, and acked
    assert hub.imported == ["a.jpg"] and hub.projects == ["proj"]
    assert dead_letter_reasons(publisher) == [
        "refused: bucket confidential-bucket is not the landing bucket (landing)"]
    assert sorted(subscriber.acked) == ["f1", "ok1"] and summary.dead_lettered == 1


def test_a_message_naming_a_project_no_route_produces_is_dead_lettered():
    # GIVEN an object of the landing bucket bound for a project no route names
    forged = obj("a.jpg", dest=Destination("victim-project", "st", ("incoming",)))
    # WHEN a flush pulls it
    hub, subscriber, publisher, _ = run_flush(SETTINGS_ENV, ("f1", forged))
    # THEN nothing is imported, and the dead letter says which project
    assert hub.imported == [] and subscriber.acked == ["f1"]
    assert dead_letter_reasons(publisher) == [
        "refused: project 'victim-project' is not one this deployment's routes can produce"]


def test_a_path_traversal_project_in_a_message_never_reaches_the_hub():
    # GIVEN the second forgery of issue 22: a project that climbs out of the import path
    forged = obj("a.jpg", dest=Destination("demo-project/../../storages#", "st", ("incoming",)))
    hub, subscriber, publisher, _ = run_flush(SETTINGS_ENV, ("f1", forged))
    assert hub.calls == 0 and hub.imported == [] and subscriber.acked == ["f1"]
    assert "is not one this deployment's routes can produce" in dead_letter_reasons(publisher)[0]


def test_a_refused_message_whose_dead_letter_is_not_confirmed_is_not_acked():
    # GIVEN a forged message, and a dead-letter topic that does not confirm
    forged = obj("a.jpg", bucket="confidential-bucket")
    # WHEN a flush pulls it
    hub, subscriber, _, summary = run_flush(SETTINGS_ENV, ("f1", forged), publisher=Publisher(failing=True))
    # THEN it is neither imported nor acked: it comes back, to be dead-lettered then
    assert hub.imported == [] and subscriber.acked == [] and summary.dead_lettered == 0


@pytest.mark.parametrize("name,dest,why", [
    ("a.jpg", Destination("proj", "st-other", ("incoming",)), "storage 'st-other' is not one"),
    ("a.jpg", Destination("proj", "st", ("payroll",)), "batch 'payroll' is not one"),
    ("cams/a.jpg", Destination("cams", "st", ("incoming",)), "storage 'st' is not one"),
    ("cams/a.jpg", Destination("cams", "st-cams", ("cams-2026-01-01",)), "batch 'cams-2026-01-01' is not one"),
    # another route's destination: the object's own route is the only one obeyed (red team 4)
    ("cams/a.jpg", DEST, "project 'proj' is not one"),
])
def test_a_storage_or_batch_or_combination_no_route_produces_is_refused(name, dest, why):
    message = obj(name, dest=dest, time_created="2026-01-02T03:04:05Z")
    assert why in (refusal(message, load(SETTINGS_ENV)) or "")


def test_what_todays_routes_produce_is_obeyed():
    # GIVEN the default route, and the cams/ route with its template filled in (and said so)
    settings = load(SETTINGS_ENV)
    ref = ObjectRef("landing", "cams/a.jpg", 1, time_created="2026-01-02T03:04:05Z")
    cams = Destination("cams", "st-cams", ("cams-2026-01-02",), templates=(("cams-2026-01-02", "cams-{date}"),))
    # THEN both are obeyed; a template's name passed off as a plain name (escaping the cap) is not
    assert refusal(ObjectMessage(ref, cams), settings) is None
    assert refusal(ObjectMessage(replace(ref, name="a.jpg"), DEST), settings) is None
    assert refusal(ObjectMessage(ref, replace(cams, templates=())), settings) is not None


def test_a_metadata_override_is_obeyed_only_when_allowed_and_named_by_the_objects_metadata():
    ref = ObjectRef("landing", "a.jpg", 1, metadata={"hub-project": "other", "hub-batches": "b1"})
    dest = Destination("other", "st", ("b1",), templates=(("b1", BATCHES_SOURCE),))
    assert refusal(ObjectMessage(ref, dest), load({**SETTINGS_ENV, "HUB_METADATA_OVERRIDES": "true"})) is None
    assert "project 'other'" in refusal(ObjectMessage(ref, dest), load(SETTINGS_ENV))
    moved = replace(ref, metadata={"hub-project": "another"})
    assert refusal(ObjectMessage(moved, dest), load({**SETTINGS_ENV, "HUB_METADATA_OVERRIDES": "true"}))


def test_a_route_without_storage_binds_to_the_integration_found_and_nothing_else():
    env = {k: v for k, v in SETTINGS_ENV.items() if k != "HUB_STORAGE_ID"}
    env["HUB_ROUTES"] = "[]"
    settings = load(env)
    assert refusal(obj("a.jpg", dest=DEST), settings, found_storage="st") is None
    assert "storage 'st'" in refusal(obj("a.jpg", dest=DEST), settings, found_storage="st-found")


def test_a_forged_deletion_of_another_buckets_object_is_dead_lettered_and_deletes_nothing():
    # GIVEN ON_DELETE=delete, and a deletion message naming an object of another bucket
    env = {**SETTINGS_ENV, "ON_DELETE": "delete"}
    forged = DeletionMessage(ObjectRef("confidential-bucket", "hr/salaries.pdf", 1))
    # WHEN a flush pulls it
    hub, subscriber, publisher, summary = run_flush(env, ("d1", forged))
    # THEN nothing is looked up or deleted: it is dead-lettered with the reason, then acked
    assert hub.calls == 0 and summary.deletions == 0 and summary.deleted_assets == 0
    assert dead_letter_reasons(publisher) == [
        "refused: bucket confidential-bucket is not the landing bucket (landing)"]
    assert subscriber.acked == ["d1"]


def test_without_landing_bucket_the_flush_pulls_nothing():
    env = {k: v for k, v in SETTINGS_ENV.items() if k != "LANDING_BUCKET"}
    hub, subscriber, publisher, summary = run_flush(env, ("ok1", obj("a.jpg")))
    assert summary.pulled == 0 and subscriber.acked == [] and publisher.sent == [] and hub.imported == []
