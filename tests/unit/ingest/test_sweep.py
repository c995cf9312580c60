"""The sweep (hub_import/ingest/sweep.py) over an in-memory landing bucket and state bucket: what
it lists, reads and queues; its cursor, its bounds, its watermark; and, with the real flush
behind it, that a file its event and the sweep both queued is imported once. (No network.)"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from hub_import.core import clock
from hub_import.core.messages import decode_message
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import load
from hub_import.flush.run import Flush
from hub_import.ingest.handler import describe
from hub_import.ingest.sweep import FLOOR_S, OVERLAP_S, Sweep
from hub_import.ingest.sweep_scope import listing_prefixes, literal_head
from hub_import.state.ledger import Ledger
from hub_import.state.sweep_state import SweepState, found_by_sweep, last_sweep
from tests.unit.flush.test_flush_in_memory import Hub, ListingStore, Subscriber
from tests.unit.flush.test_result_messages import Publisher

ENV = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing", "HUB_API_KEY": "k",
       "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st", "HUB_BATCHES": "incoming", "HUB_CREATE_BATCHES": "true",
       "PUBSUB_EMULATOR_HOST": "127.0.0.1:9", "PROBE_IMAGE_SIZE": "false", "SWEEP_GRACE_SECONDS": "600"}
HOUR = timedelta(hours=1)


class Landing:
    """A landing bucket: list_blobs as google-cloud-storage's (prefix, start_offset inclusive, pages),
    counting list calls (pages) and rows."""

    name = "landing"

    def __init__(self):
        self.objects: dict[str, SimpleNamespace] = {}
        self.list_calls = self.rows = 0

    def add(self, name: str, age: timedelta = 2 * HOUR, generation: int = 1):
        self.objects[name] = SimpleNamespace(
            name=name, generation=generation, size=10, content_type="image/jpeg", md5_hash="", crc32c="",
            metadata={}, bucket=self, time_created=datetime.fromtimestamp(clock.now(), timezone.utc) - age)

    def list_blobs(self, prefix=None, start_offset=None, page_size=1000, fields=None):
        names = sorted(n for n in self.objects if n.startswith(prefix or "") and n >= (start_offset or ""))
        landing = self

        def pages():
            for i in range(0, len(names), page_size):
                landing.list_calls += 1
                landing.rows += len(names[i:i + page_size])
                yield [landing.objects[n] for n in names[i:i + page_size]]
        return SimpleNamespace(pages=pages())


class Clock:
    """A clock stopped at `t` (wall and monotonic alike) until slept: GCS's, or a host's, as a test sets it."""

    def __init__(self, t):
        self.t = t

    def time(self):
        return self.t

    def monotonic(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


def put(landing, name, created: float) -> int:
    """An object in `landing` created at `created` (epoch seconds, GCS's clock); its generation."""
    landing.objects[name] = SimpleNamespace(
        name=name, generation=int(created * 1e6), size=10, content_type="image/jpeg", md5_hash="", crc32c="",
        metadata={}, bucket=landing, time_created=datetime.fromtimestamp(created, timezone.utc))
    return landing.objects[name].generation


class Storage:
    def __init__(self, landing: Landing):
        self.landing = landing

    def bucket(self, name):
        assert name == "landing", name
        return self.landing


class Reads(ListingStore):
    """The state bucket, counting reads of ledger records."""

    def __init__(self):
        super().__init__()
        self.ledger_reads = 0

    def read(self, path):
        if path.startswith("ledger/") and not path.startswith("ledger/sweep/"):
            self.ledger_reads += 1
        return super().read(path)


def make(n: int = 0, **env):
    settings = load({**ENV, **{k: str(v) for k, v in env.items()}})
    landing, store, publisher = Landing(), Reads(), Publisher()
    for i in range(n):
        landing.add(f"cams/{i:05d}.jpg")
    return settings, landing, store, publisher


def sweep(settings, landing, store, publisher, **kwargs):
    return Sweep(settings, storage=Storage(landing), store=store, send=publisher.publish_message, **kwargs).run()


def _publish_message(self, topic, message):
    data, attributes = message.encode()
    return self.publish(topic, data, **attributes)


Publisher.publish_message = _publish_message


def queued(publisher) -> list[str]:
    return [decode_message(data).ref.name for _, data, _ in publisher.sent]


def record(store, settings, name: str, generation: int = 1):
    """A ledger record for the object, as a flush's claim writes it."""
    ref = ObjectRef("landing", name, generation)
    Ledger(store, settings.ledger_prefix, settings.each_generation).claim(ref, "m", "f", name)


def test_it_queues_only_the_files_without_a_ledger_record_with_source_sweep_and_says_so():
    settings, landing, store, publisher = make(10)
    for i in range(10):
        if i not in (3, 7):
            record(store, settings, f"cams/{i:05d}.jpg")
    report = sweep(settings, landing, store, publisher)
    assert sorted(queued(publisher)) == ["cams/00003.jpg", "cams/00007.jpg"]
    assert {decode_message(d).source for _, d, _ in publisher.sent} == {"sweep"}
    assert (report.listed, report.known, report.queued, report.list_calls, report.complete) == (10, 8, 2, 1, True)
    last = last_sweep(settings, store)
    assert (last["listed"], last["known"], last["queued"], last["complete"]) == (10, 8, 2, True)
    assert found_by_sweep(settings, store, "landing", "cams/00003.jpg")["generation"] == 1
    assert found_by_sweep(settings, store, "landing", "cams/00004.jpg") is None


def test_a_file_younger_than_the_grace_is_left_to_its_event():
    settings, landing, store, publisher = make(0)
    landing.add("cams/new.jpg", age=timedelta(seconds=60))
    landing.add("cams/old.jpg", age=timedelta(seconds=900))
    report = sweep(settings, landing, store, publisher)
    assert queued(publisher) == ["cams/old.jpg"] and report.young == 1


def test_a_run_is_bounded_and_the_next_resumes_at_its_cursor_without_listing_a_name_twice():
    settings, landing, store, publisher = make(250)
    runs = []
    while not runs or not runs[-1].complete:
        runs.append(sweep(settings, landing, store, publisher, max_objects=100, page_size=40))
        assert len(runs) < 10
    # each run stops at the first page's end past 100 objects (a resumed run's first page repeats the
    # name it resumes after, not counted); together they list each object once
    assert [r.listed for r in runs] == [120, 119, 11] and [r.stopped for r in runs] == ["objects", "objects", ""]
    assert sorted(queued(publisher)) == sorted(landing.objects) and len(publisher.sent) == 250
    assert landing.rows == 250 + 2  # the page each resumed run starts with repeats the name it ended at


def test_a_run_stops_at_its_time_budget(monkeypatch):
    settings, landing, store, publisher = make(100)
    ticks = iter(range(0, 10_000, 7))
    monkeypatch.setattr(clock, "monotonic", lambda: float(next(ticks)))
    report = sweep(settings, landing, store, publisher, budget_s=10, page_size=10)
    assert report.stopped == "budget" and not report.complete and report.listed < 100


def test_after_a_complete_pass_only_files_newer_than_the_watermark_are_read_from_the_ledger():
    settings, landing, store, publisher = make(0)
    for i in range(50):
        landing.add(f"cams/{i:05d}.jpg", age=3 * HOUR)
        record(store, settings, f"cams/{i:05d}.jpg")
    landing.add("cams/newest.jpg", age=2 * HOUR)
    record(store, settings, "cams/newest.jpg")
    first = sweep(settings, landing, store, publisher)
    assert (first.ledger_reads, first.complete) == (51, True)
    state = SweepState(store, settings.ledger_prefix)
    # the first pass has no listing before it to tell GCS's clock by: the watermark is not set, and
    # nothing older than a day before the first run is the sweep's (the floor)
    assert state.cursor().watermark is None
    assert state.cursor().floor == pytest.approx(clock.now() - FLOOR_S, abs=5)
    second = sweep(settings, landing, store, publisher)
    assert second.ledger_reads == 51 and second.complete
    # the second sets it from GCS's clock: the newest object listed before it began, less the overlap
    newest = landing.objects["cams/newest.jpg"].time_created.timestamp()
    assert state.cursor().watermark == pytest.approx(newest - OVERLAP_S, abs=1)
    # WHEN a file lands (its event lost) after the pass began, and one just inside the overlap
    landing.add("cams/late.jpg", age=timedelta(seconds=700))
    landing.add("cams/skewed.jpg", age=2 * HOUR + timedelta(seconds=OVERLAP_S - 30))
    third = sweep(settings, landing, store, publisher)
    # THEN only those two (and the newest, inside the overlap) are read from the ledger; the two queued
    assert third.ledger_reads == 3 and third.older == 50
    assert sorted(queued(publisher)) == ["cams/late.jpg", "cams/skewed.jpg"]


def test_the_watermark_moves_only_after_a_complete_pass():
    settings, landing, store, publisher = make(100)
    state = SweepState(store, settings.ledger_prefix)
    for passes in (1, 2):
        sweep(settings, landing, store, publisher, max_objects=10, page_size=10)
        assert state.cursor().watermark is None  # a pass under way (and the first pass) leave it
        while not sweep(settings, landing, store, publisher, max_objects=10, page_size=10).complete:
            pass
    assert state.cursor().watermark is not None


def test_a_new_route_lists_its_prefix_and_checks_its_files_after_the_watermark():
    settings, landing, store, publisher = make(0, HUB_PROJECT_ID="", HUB_ROUTES='[{"prefix": "a/", "project": "p"}]')
    landing.add("a/1.jpg")
    landing.add("b/1.jpg")
    sweep(settings, landing, store, publisher)
    assert queued(publisher) == ["a/1.jpg"] and landing.rows == 1  # only a/ is listed
    wider = load({**ENV, "HUB_PROJECT_ID": "", "HUB_ROUTES": '[{"prefix": "a/", "project": "p"}, '
                                                              '{"prefix": "b/", "project": "p"}]'})
    sweep(wider, landing, store, publisher)
    assert sorted(queued(publisher)) == ["a/1.jpg", "a/1.jpg", "b/1.jpg"]


def test_a_change_of_rules_keeps_the_watermark_files_before_it_are_backfills():
    settings, landing, store, publisher = make(0, HUB_PROJECT_ID="", HUB_ROUTES='[{"prefix": "a/", "project": "p"}]')
    landing.add("a/1.jpg", age=3 * HOUR)
    landing.add("b/old.jpg", age=5 * HOUR)
    record(store, settings, "a/1.jpg")
    for _ in range(2):
        assert sweep(settings, landing, store, publisher).complete
    watermark = SweepState(store, settings.ledger_prefix).cursor().watermark
    assert watermark is not None
    landing.add("b/new.jpg")  # two hours old: after the watermark, its event lost
    wider = load({**ENV, "HUB_PROJECT_ID": "", "HUB_ROUTES": '[{"prefix": "a/", "project": "p"}, '
                                                              '{"prefix": "b/", "project": "p"}]'})
    sweep(wider, landing, store, publisher)
    assert queued(publisher) == ["b/new.jpg"]  # b/old.jpg came while b/ had no route: backfill's
    assert SweepState(store, settings.ledger_prefix).cursor().watermark >= watermark


@pytest.mark.parametrize("env, prefixes", [
    ({}, [""]),
    ({"HUB_PROJECT_ID": "", "HUB_ROUTES": '[{"prefix": "b/x/", "project": "p"}, {"prefix": "b/", "project": "p"},'
      '{"glob": "c/*/d/*.png", "project": "p"}]'}, ["b/", "c/"]),
    ({"INCLUDE_GLOBS": "cams/**,lidar/[0-9]*"}, ["cams/", "lidar/"]),
    ({"HUB_PROJECT_ID": "", "HUB_ROUTES": '[{"prefix": "a/", "project": "p"}]', "INCLUDE_GLOBS": "b/**"}, []),
])
def test_it_lists_only_under_the_prefixes_some_route_can_take(env, prefixes):
    assert listing_prefixes(load({**ENV, **env})) == prefixes


def test_literal_head():
    assert [literal_head(g) for g in ("a/b/*.jpg", "**/x", "a/[0-9]", "plain")] == ["a/b/", "", "a/", "plain"]


def test_two_sweeps_at_once_one_stops_at_its_first_cursor_write():
    settings, landing, store, publisher = make(30)
    state = SweepState(store, settings.ledger_prefix)
    other = state.cursor()
    first = sweep(settings, landing, store, publisher, max_objects=10, page_size=10)
    assert first.stopped == "objects"
    other.after = "zzz"  # a sweep that read the cursor before the first wrote it
    with pytest.raises(Exception):
        state.save(other)


def test_a_file_the_event_and_the_sweep_both_queue_is_imported_once():
    # GIVEN a file whose event did come, but late: after the sweep had found it without a record
    settings, landing, store, publisher = make(0)
    landing.add("cams/both.jpg")
    landing.add("cams/lost.jpg")
    sweep(settings, landing, store, publisher)
    assert sorted(queued(publisher)) == ["cams/both.jpg", "cams/lost.jpg"]
    event = describe(ObjectRef.from_blob(landing.objects["cams/both.jpg"]), settings, event="evt-1").encode()
    swept = [(f"s{i}", (data, attributes)) for i, (_, data, attributes) in enumerate(publisher.sent)]
    # WHEN the flush pulls the event's message and the sweep's, in one pull and in the next
    hub = Hub()
    Flush(settings, hub, store, Subscriber([("e1", event), swept[0]], [swept[1]]), Publisher()).run()
    # THEN each file is in the Hub once
    assert sorted(hub.imported) == ["cams/both.jpg", "cams/lost.jpg"]
    # and the next sweep (their records written) queues nothing more
    before = len(publisher.sent)
    SweepState(store, settings.ledger_prefix).save(_reset(SweepState(store, settings.ledger_prefix).cursor()))
    report = sweep(settings, landing, store, publisher)
    assert (report.known, report.queued, len(publisher.sent)) == (2, 0, before)


def _reset(cursor):
    cursor.watermark = None
    return cursor
