"""Held deletions are shown where a person looks: `deletions` (count, oldest, a few names), `status`
(one line and a JSON field), `trace` of a held file (its verdict); and `sweep --deletions` queues
the deletions of sent files gone from the bucket, not those held already. (No network.)"""
from __future__ import annotations

from types import SimpleNamespace

from hub_import.core import clock
from hub_import.core.messages import decode_message
from hub_import.core.objects import ObjectRef
from hub_import.ops import deletions
from hub_import.ops.deletion_sweep import sweep_deletions
from hub_import.ops.status import Status, status_table
from hub_import.ops.trace_report import Trace, verdict
from hub_import.state.held_deletions import HeldDeletions
from hub_import.state.ledger import Ledger
from tests.unit.flush.test_deletions_listing import VirtualClock
from tests.unit.flush.test_early_claims import Store
from tests.unit.flush.test_result_messages import Publisher

SETTINGS = SimpleNamespace(ledger_prefix="ledger/", topic_path="projects/p/topics/assets", each_generation=False,
                           landing_bucket="landing", delete_follows=True)


def hold(store, names, now):
    ledger, held = Ledger(store, "ledger/", False), HeldDeletions(store, "ledger/")
    for name in names:
        ref = ObjectRef("landing", name, 1)
        held.hold(ledger.key(ref), ref, event="deleted", event_id="e", flush_id="f", limit=1000)
        now.sleep(60)


def test_deletions_lists_the_count_the_oldest_and_a_few_names():
    with clock.use(VirtualClock()) as now:
        store = Store()
        hold(store, [f"d/{i}.png" for i in range(8)], now)
        now.sleep(3600)
        report = deletions.held(SETTINGS, store)
        text = "\n".join(report.lines())
        assert report.count == 8 and report.to_json()["count"] == 8
        assert "8 deletion(s) held" in text and "oldest held 1h08m ago" in text
        assert "gs://landing/d/0.png" in text and "... and 3 more" in text and "--approve" in text
        assert deletions.held(SETTINGS, Store()).lines() == ["no deletions held"]


def test_status_shows_the_held_deletions_in_a_line_and_a_field():
    shown = Status(held_deletions=200)
    assert shown.to_json()["held_deletions"] == 200
    assert "deletions held: 200" in status_table(shown) and "deletions --approve" in status_table(shown)
    assert "deletions held" not in status_table(Status())


def test_trace_of_a_held_file_says_its_deletion_is_held_and_how_to_release_it():
    rows = {"copies": [{"id": "a1", "project": "p", "externalId": "a.png", "createdAt": None,
                        "data": "https://storage.googleapis.com/landing/a.png", "ours": True}], "asked": []}
    t = Trace("gs://landing/a.png", object=None, hub=rows, held={"limit": 1000})
    outcome, says = verdict(t)
    assert outcome == "held"
    assert says == ("deletion held: over MAX_DELETIONS_PER_HOUR (1000); run `python -m hub_import deletions "
                    "--approve` or `--discard`")
    # uploaded again since: the held deletion no longer applies, the file is in the Hub
    t.object = {"generation": 2}
    assert verdict(t)[0] == "in_hub"


def test_trace_finds_the_held_record_of_the_file():
    with clock.use(VirtualClock()) as now:
        store = Store()
        hold(store, ["a.png"], now)
        assert deletions.held_for(SETTINGS, store, "landing", "a.png", {1})["limit"] == 1000
        assert deletions.held_for(SETTINGS, store, "landing", "b.png", {1}) is None


class Landing:
    def __init__(self, names):
        self.names = names

    def bucket(self, name):
        assert name == "landing"
        return SimpleNamespace(list_blobs=lambda **kw: [SimpleNamespace(name=n) for n in self.names])


def test_sweep_deletions_queues_the_sent_files_gone_from_the_bucket_once_each_not_those_held():
    with clock.use(VirtualClock()) as now:
        # GIVEN four files sent to the Hub, one claimed and never sent, one of another bucket
        store = Store()
        ledger = Ledger(store, "ledger/", False)
        for name in ("live.png", "gone.png", "held.png", "gone2.png", "never.png"):
            ledger.claim(ObjectRef("landing", name, 3), "m1.json" if name != "never.png" else "m2.json", "f", name)
        ledger.claim(ObjectRef("other", "gone.png", 1), "m1.json", "f", "gone.png")
        ledger.mark_sent("m1.json", 5)
        hold(store, ["held.png"], now)
        # WHEN only live.png is still in the landing bucket, and the sweep runs
        publisher = Publisher()
        report = sweep_deletions(SETTINGS, store, Landing(["live.png", "unrelated.png"]), publisher)
        # THEN the two gone, sent, not held files get a deletion message each; the rest none
        queued = sorted((m.ref.name, m.ref.generation, m.source) for m in
                        (decode_message(data) for _, data, _ in publisher.sent))
        assert queued == [("gone.png", 3, "sweep"), ("gone2.png", 3, "sweep")]
        assert (report.records, report.sent, report.gone, report.held, report.queued) == (6, 4, 3, 1, 2)
        assert "2 deletions queued" in report.line()
        # AND a dry run counts and queues nothing
        dry = sweep_deletions(SETTINGS, store, Landing(["live.png"]), Publisher(), dry_run=True)
        assert (dry.gone, dry.queued) == (3, 0)


def test_sweep_dry_run_asks_for_deletions_and_the_deletion_sweep_needs_on_delete_delete(env, capsys):
    from hub_import.ops.cli import main

    assert main(["sweep", "--dry-run"]) == 2 and "--dry-run is for --deletions" in capsys.readouterr().err
    assert main(["sweep", "--deletions"]) == 2 and "needs ON_DELETE=delete" in capsys.readouterr().err
