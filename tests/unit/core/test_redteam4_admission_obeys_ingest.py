"""Red team 4 (issue 22): admission refuses what no route produces, and must never refuse what
ingest queues. Over random deployments (routes with and without storage or priority, templates,
escaped braces, HUB_STORAGE_ID set or found, public buckets, metadata overrides) and random
objects, every message ingest would queue (decide, encode, decode, the found storage filled in)
is obeyed. (What held under the red team's probing: kept as a guard for the stricter checks.)"""
from __future__ import annotations

import dataclasses
import json
import random

from hub_import.core.admission import refusal
from hub_import.core.decisions import decide
from hub_import.core.messages import ObjectMessage, decode_message
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import ConfigError, load

BASE = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing", "HUB_API_KEY": "k",
        "HUB_CREATE_BATCHES": "true"}
BATCHES = ["incoming", "{top}", "{dir}", "{date}", "{meta.cam}", "c-{meta.cam}", "x{{y}}", "{{lit}}-{top}", " sp ",
           "{meta.k2}"]
METADATA = {"cam": ["c1", "incoming", "cams", " c1", "y}"], "k2": ["c1", "x{y}", "lit"],
            "hub-project": ["other", " proj ", "cams"], "hub-batches": ["b1", "b1, b1", "incoming,c1", " b2 "],
            "hub-priority": ["5", "-3"]}


def deployment(rng: random.Random) -> dict:
    env = dict(BASE)
    if rng.random() < 0.8:
        env.update(HUB_PROJECT_ID=rng.choice(["proj", "p2"]), HUB_PRIORITY=rng.choice(["0", "4"]),
                   HUB_BATCHES=",".join(rng.sample(BATCHES, rng.randint(0, 3))))
    if rng.random() < 0.5:
        env["HUB_STORAGE_ID"] = "st"
    else:
        env["HUB_PUBLIC_BUCKET"] = rng.choice(["true", "false"])
    routes = []
    for _ in range(rng.randint(0, 3)):
        route = {"prefix": rng.choice(["cams/", "a/", "", "cams/x/"]), "project": rng.choice(["cams", "proj", "p3"])}
        if rng.random() < 0.5:
            route["priority"] = rng.choice([0, 3, -2])
        if rng.random() < 0.5:
            route["storage"] = rng.choice(["st", "st2"])
        if rng.random() < 0.8:
            route["batches"] = rng.sample(BATCHES, rng.randint(0, 3))
        routes.append(route)
    env["HUB_ROUTES"] = json.dumps(routes)
    if rng.random() < 0.5:
        env["HUB_METADATA_OVERRIDES"] = "true"
    return env


def test_every_message_ingest_queues_is_obeyed():
    rng, judged = random.Random(22), 0
    for _ in range(3000):
        try:
            settings = load(deployment(rng))
        except (ConfigError, ValueError):
            continue
        metadata = {k: rng.choice(v) for k, v in METADATA.items() if rng.random() < 0.4}
        ref = ObjectRef("landing", rng.choice(["cams/a.jpg", "a/b/c.jpg", "x.jpg", "cams/x/y.jpg", "lit/z.png"]), 3,
                        size=10, metadata=metadata,
                        time_created=rng.choice(["2026-01-02T03:04:05Z", "2026-01-02T23:59:59-05:00", ""]))
        dest = decide(ref, settings).destination
        if dest is None:
            continue
        message = decode_message(ObjectMessage(ref, dest, (1, 1)).encode()[0])
        found = None if settings.public_bucket or settings.storage_id else "found-st"
        if message.destination.storage is None and found:
            message = dataclasses.replace(message, destination=dataclasses.replace(message.destination, storage=found))
        assert refusal(message, settings, found) is None, (settings, ref, dest)
        judged += 1
    assert judged > 1000
