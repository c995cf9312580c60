"""One simulated deployment: bucket, queue, Hub and clock, the settings, and the steps a history
is made of (see generator.py for what each step means). The product's own code runs each step:
ingest's handle_event for each delivered event, Flush.run for a flush, the ops functions for
backfill, replay --failed and audit --fix."""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from cloudevents.http import CloudEvent

from hub_import.core.settings import load
from hub_import.flush.run import Flush
from hub_import.ingest.handler import handle_event
from hub_import.ops import audit as audit_op
from hub_import.ops import backfill as backfill_op
from hub_import.ops import deletions as deletions_op
from hub_import.ops import replay as replay_op
from hub_import.ops.dead_letter_inbox import subscription_path as inspect_path
from hub_import.state.store import JsonStore

from .clock import Crash, Io, VirtualClock
from .gcs import FakeGcs, content as _content
from .hub import BASE_URL, SimHub
from .pubsub import FakePubSub
from .seams import Capture, product_on
from . import sweeps

# The deployed subscription's max_delivery_attempts (Terraform, one place): a message deferred that
# many times is dead-lettered, here as there.
MAX_DELIVERIES = int(re.search(r"max_delivery_attempts\s*=\s*(\d+)", (Path(__file__).parents[2] / "terraform" / "modules"
                                / "hub-import" / "pubsub.tf").read_text()).group(1))
API_KEY = "sk-SIMf3a9Q7zLr2XwP0vKd8NbY4mTj6HcE1uGs5oRi"
PROJECTS = ("proj", "cams")
STORAGE = "st"
ROUTES = [{"prefix": "cams/", "project": "cams", "storage": STORAGE, "batches": ["cams-in"]},
          {"prefix": "x/", "project": "proj", "storage": "st-missing"}]  # a storage the Hub lacks: rejected
BASE_ENV = {
    "GOOGLE_CLOUD_PROJECT": "sim", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing",
    "HUB_API_URL": BASE_URL, "HUB_ALLOW_CUSTOM_HOST": "true", "HUB_API_KEY": API_KEY, "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": STORAGE,
    "HUB_BATCHES": "incoming", "HUB_CREATE_BATCHES": "true", "HUB_ROUTES": json.dumps(ROUTES),
    "HUB_CONTEXT_KEYS": "camera", "RESULTS_TOPIC": "results", "MAX_ASSETS_PER_MANIFEST": "3",
    "HUB_TIMEOUT_SECONDS": "30", "FLUSH_BUDGET_SECONDS": "120", "ON_DELETE": "delete", "ON_OVERWRITE": "skip",
    "MAX_OBJECT_BYTES": "0", "LOG_LEVEL": "DEBUG",
}
GIVE_UP = 4  # deliveries of a doomed event before Eventarc drops it (in truth: retried for 24 hours)
EVENT_TYPES = {"finalized": "google.cloud.storage.object.v1.finalized",
               "deleted": "google.cloud.storage.object.v1.deleted"}


@dataclass
class Event:
    due: float
    kind: str
    resource: dict
    n: int
    attempts: int = 0
    doomed: bool = False  # the ingest function fails on it every time, until Eventarc gives up (GIVE_UP)


@dataclass
class Upload:
    """The judge's record of one generation that landed."""
    name: str
    generation: int
    size: int
    metadata: dict
    eligible: bool  # under the settings of its time
    epoch: int
    lost: bool = False  # its event was lost (or failed until dropped): a sweep or backfill (the live generation) finds it


@dataclass
class Deletion:
    name: str
    generation: int
    follows: bool  # ON_DELETE=delete at its time
    size: int
    epoch: int


class World:
    def __init__(self, seed: int, env: dict | None = None, guesses: dict | None = None):
        self.seed = seed
        self.clock = VirtualClock()
        self.io = Io(self.clock)
        self.gcs = FakeGcs(self.io)
        self.pubsub = FakePubSub(self.io)
        self.log = Capture()
        self.env = dict(BASE_ENV, **(env or {}))
        self.settings = load(self.env)
        self.epoch = 0
        s = self.settings
        self.pubsub.subscribe(s.topic_path, s.subscription_path, s.dead_letter_topic_path, max_attempts=MAX_DELIVERIES)
        self.pubsub.subscribe(s.dead_letter_topic_path, inspect_path(s))  # what people read (status, trace)
        self.pubsub.subscribe(s.results_topic_path, "projects/sim/subscriptions/results-judge")
        self.guesses = dict(guesses or {})  # the stand-in's guessed behaviours, list_lag_s and list_data among them
        self.hub = SimHub(self.clock, self.io, API_KEY, seed, self.guesses)
        for project in PROJECTS:
            self.hub.state.ensure_project(project)
        self.hub.state.ensure_storage(STORAGE, "landing")
        self.hub.state.ensure_storage("st-other", "elsewhere")
        self.landing = self.gcs.bucket("landing")
        self.landing.notify = self._notify
        self.store = JsonStore(self.gcs.bucket("state"))
        self.events: list[Event] = []
        self.delivery = "now"  # how the next GCS events are delivered (set by the step making them)
        self.lost: list[Event] = []
        self.uploads: list[Upload] = []
        self.deletions: list[Deletion] = []
        self.handmade: set[str] = set()
        self.poison_texts: list[str] = []
        self.outcomes: list[str] = []  # what each process step ended with, for the report
        self.approved = 0  # held deletions `deletions --approve` queued again
        self.created: dict[tuple, float] = {}  # (name, generation) -> when it landed (the judge's record)
        self.sweep_runs: list = []  # sweeps.Run, one per sweep run
        self.pass_started = float("-inf")  # when the latest complete sweep pass began
        self.pass_begins: float | None = None  # when the sweep pass under way began (sweeps.sweep)
        self.pass_judged = float("inf")  # the lowest cutoff of its runs (ingest/sweep_waiting.py)
        self.final_queued: list = []  # what sweeps of the world at rest queued (sweeps.final)
        self.rest_sweep = (1000, None)  # page_size, max_objects of the sweeps that bring it to rest
        self._n = 0
        self._rng = random.Random(seed)

    # -- events -------------------------------------------------------------------------------
    def _notify(self, kind: str, resource: dict) -> None:
        self._n += 1
        how = self.delivery
        delay = {"now": 0.0, "delay": 45.0, "late": 400.0}.get(how, 0.0)
        event = Event(self.clock.monotonic() + delay, kind, resource, self._n)
        if how == "lost" and kind == "finalized":
            self.lost.append(event)
            return
        event.doomed = how == "fail" and kind == "finalized"
        self.events.append(event)
        if how == "dup":
            self.events.append(Event(event.due + 5.0, kind, resource, self._n))

    def deliver_due(self) -> None:
        """Eventarc: every event due by now to the ingest function; a failed one retried later."""
        now = self.clock.monotonic()
        due = sorted((e for e in self.events if e.due <= now), key=lambda e: (e.due, e.n))
        for event in due:
            self.events.remove(event)
            if event.doomed:  # the function fails (its error, not ours to model); Eventarc retries, then drops it
                event.attempts += 1
                self.outcomes.append(f"ingest {event.resource['name']}: failed ({event.attempts})")
                if event.attempts >= GIVE_UP:
                    self.lost.append(event)
                else:
                    self.events.append(event)
                    event.due = now + 10.0 * event.attempts
                continue
            ce = CloudEvent({"type": EVENT_TYPES[event.kind], "source": "//storage.googleapis.com/projects/_/buckets/landing",
                             "subject": f"objects/{event.resource['name']}", "id": f"ev-{event.n}-{event.attempts}",
                             "time": event.resource["timeCreated"]}, event.resource)
            try:
                handle_event(ce, self.settings)
            except Crash:
                raise
            except Exception as exc:  # noqa: BLE001 - the function failed: Eventarc retries
                self.outcomes.append(f"ingest {event.resource['name']}: {type(exc).__name__}")
                event.attempts += 1
                event.due = now + 10.0 * event.attempts
                self.events.append(event)

    # -- steps --------------------------------------------------------------------------------
    def upload(self, name: str, size: int, metadata: dict, delivery: str = "now", backdate: float = 0.0) -> None:
        self.delivery = delivery
        data = _content(name, size)
        self.landing.put(name, data, "image/png" if name.endswith(".png") else "application/pdf", metadata, backdate)
        v = self.landing.objects[name]
        limit = self.settings.max_object_bytes
        size = len(data)
        self.uploads.append(Upload(name, v.generation, size, dict(metadata), not limit or size <= limit, self.epoch,
                                   delivery in ("lost", "fail")))
        self.created[(name, v.generation)] = v.created
        self.delivery = "now"

    def delete(self, name: str, delivery: str = "now") -> None:
        if name in self.landing.objects:
            self.delivery = delivery
            v = self.landing.objects[name]
            self.deletions.append(Deletion(name, v.generation, self.settings.delete_follows, len(v.data), self.epoch))
            self.landing.remove(name)
            self.delivery = "now"

    def sweep(self, seed: int, page_size: int, max_objects: int | None, rates: dict | None = None,
              crash_at: int | None = None) -> None:
        sweeps.sweep(self, seed, page_size, max_objects, rates, crash_at)

    def flush(self, seed: int, rates: dict, crash_at: int | None, name: str = "flush") -> None:
        self.io.plan(seed, rates, crash_at, name)
        try:
            hub = self.hub.client(self.settings, seed)
            summary = Flush(self.settings, hub, self.store, self.pubsub, self.pubsub,
                            flush_id=f"f{self.clock.monotonic():.0f}-{seed % 1000:03d}").run()
            self.outcomes.append(f"{name}: pulled {summary.pulled} sent {summary.sent}")
        except Crash as crash:
            self.outcomes.append(str(crash))
        except Exception as exc:  # noqa: BLE001 - an uncaught error ends the function: a 500
            self.outcomes.append(f"{name} failed: {type(exc).__name__}: {exc}")
        finally:
            self.io.quiet()

    def backfill(self, seed: int = 0, crash_at: int | None = None) -> None:
        self.io.plan(seed, {}, crash_at, "backfill")
        try:
            backfill_op.backfill(self.settings, "gs://landing", workers=1, client=self.gcs)
            self.lost.clear()
        except Crash as crash:
            self.outcomes.append(str(crash))
        except Exception as exc:  # noqa: BLE001
            self.outcomes.append(f"backfill failed: {type(exc).__name__}: {exc}")
        finally:
            self.io.quiet()

    def replay_failed(self, seed: int = 0) -> None:
        flush = Flush(self.settings, self.hub.client(self.settings, seed), self.store, self.pubsub, self.pubsub,
                      flush_id=f"replay{self.clock.monotonic():.0f}")
        try:
            paths = replay_op.manifest_paths(flush, failed=True, since=None)
            if paths:
                replay_op.replay(flush, paths)
        except Exception as exc:  # noqa: BLE001
            self.outcomes.append(f"replay failed: {type(exc).__name__}: {exc}")

    def approve(self) -> None:
        """`hub-import deletions --approve`: the held deletions queued again for the next flushes. Under
        ON_DELETE=ignore (changed since they were held) the flush keeps their assets, as it keeps those of
        any deletion taken under ignore (steps change settings only at rest, so the setting now is the
        setting the flush takes them under): the judge no longer expects them gone."""
        if not self.settings.delete_follows:
            held = {}
            for body in self.held():
                held[body["name"]] = max(held.get(body["name"], 0), int(body["generation"]))
            for d in self.deletions:
                if d.name in held and d.generation <= held[d.name]:
                    d.follows = False
        try:
            report = deletions_op.approve(self.settings, self.store, self.pubsub)
            self.approved += report.done
            self.outcomes.append(f"deletions --approve: {report.line()}")
        except Exception as exc:  # noqa: BLE001 - the command fails and says so
            self.outcomes.append(f"deletions --approve failed: {type(exc).__name__}: {exc}")

    def held(self) -> list[dict]:
        """The held deletions in the state bucket (the judge's view)."""
        prefix = self.settings.ledger_prefix + "held-deletions/"
        return [self.store.read(p).body for p in sorted(self.store.bucket.objects) if p.startswith(prefix)]

    def audit(self, fix: bool, seed: int = 0) -> list:
        hub = self.hub.client(self.settings, seed)
        return [audit_op.audit(self.settings, self.store, hub, p, fix=fix) for p in PROJECTS]

    def handmade_asset(self, name: str) -> None:
        """An asset someone made by hand in the Hub: the product must never touch it."""
        url = "https://files.example.com/by-hand/" + name.replace(" ", "%20").replace("#", "%23")
        self.hub.state.add_assets("proj", [{"externalId": name, "data": url, "batches": []}])
        self.handmade.add(self.hub.state.assets["proj"][-1]["_id"])

    def poison_message(self, text: str) -> None:
        self.poison_texts.append(text)
        self.pubsub.put(self.settings.topic_path, text.encode(), {})

    def change_settings(self, changes: dict) -> None:
        self.env.update(changes)
        self.settings = load(self.env)
        self.epoch += 1
        self.pass_started = float("-inf")  # the sweep's scope may have changed (filters): a pass under these
        self.pass_begins = None

    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def with_product(self):
        return product_on(self)

    # -- rest ---------------------------------------------------------------------------------
    def busy(self) -> list[str]:
        """What is still moving (empty at rest)."""
        s = self.settings
        out = []
        if self.events:
            out.append(f"{len(self.events)} events")
        if sweeps.owed(self):
            out.append("a sweep pass owed")
        if self.pubsub.backlog(s.subscription_path):
            out.append(f"{self.pubsub.backlog(s.subscription_path)} messages")
        if self.clock.pending_timers():
            out.append("Hub timers")
        for name in self.store.bucket.objects:
            if "/pending/" in name or "/verify/" in name or "/results/" in name or "/owed/" in name or "/leases/" in name:
                out.append(name)
        return out

    def to_rest(self, rounds: int = 14) -> list[str]:
        """Faults off, then deliver, flush and let time pass until nothing moves."""
        self.io.quiet()
        self.hub.faults_off()
        quiet_rounds = 0
        for i in range(rounds):
            self.clock.advance(max(0.0, min((e.due for e in self.events), default=0) - self.clock.monotonic()))
            self.deliver_due()
            sweeps.rest(self, i)  # lost events: the sweep finds their files (no backfill at rest)
            self.flush(10_000 + i, {}, None, name="rest flush")
            quiet_rounds = quiet_rounds + 1 if not self.busy() else 0
            if quiet_rounds >= 2:
                return []
            self.clock.advance(200.0)
        return self.busy()

