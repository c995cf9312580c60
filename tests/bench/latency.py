"""`make bench`'s latency cases: how long after a file lands it is listed in the Hub.

Each case starts a stack of its own (the Eventarc bridge delivering 16 events at once, as
Eventarc pushes many), uploads images to the landing bucket through fake-gcs-server and reads
the Hub stand-in's own listing (/_admin/assets: every asset with the time it was stored).
A file's latency is from the end of its upload to its `createdAt` in the Hub, one clock.

- steady: files at a steady rate (20/s, then 100/s, 3 minutes each) with the scheduler at its
  real 60 s period and the Hub at 100 calls a minute. A file's floor is the least wait the
  schedule and the batching impose on it: until a flush could first pull it (none while a
  flush runs, else the scheduler's next call; Cloud Scheduler, like the local one, starts a
  call only once the last has answered), and until the last file of its manifest has landed.
- burst: N files at once, at a given Hub rate limit: uploaded as fast as the emulator takes
  them (or, to save time, their messages queued directly: the flush's work is the same) while
  no flush runs, as during an outage or before a tick. Once the ingest function has queued them
  all, the flush is called back to back (as the schedule does while a flush outlasts its period)
  and timed until the last is listed, against the Hub-paced floor (ceil(N/500) calls at that
  limit) and the bare ledger floor (N conditional creates at the flush's concurrency).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests

from deploy.local.processes import ROOT, spawn
from deploy.local.samples import make_image
from deploy.local.stack import HUB_PROJECT, LANDING_BUCKET, STATE_BUCKET, down, up
from tests.bench.floors import hub_paced_floor, import_calls, ledger_floor, load, publish_messages, ratio, spread

MANIFEST = 500
BRIDGE_CONCURRENCY = 16
UPLOAD_THREADS = 16
LISTED_WAIT_S = float(os.environ.get("BENCH_LISTED_WAIT_S", "300"))  # after the last upload


def start(state_dir: Path, per_minute: int, scheduler_every: float) -> dict:
    """A fresh stack whose flush paces at `per_minute` and whose Hub refuses more; its env applied
    to this process, and the process's cached clients made anew for its emulators."""
    from hub_import.core import clients

    env = up(state_dir, scheduler_every=scheduler_every, bridge_concurrency=BRIDGE_CONCURRENCY,
             hub_faults={"rate_limit_per_minute": per_minute, "rate_limit_window_s": 60},
             settings={"MAX_ASSETS_PER_MANIFEST": str(MANIFEST), "HUB_REQUESTS_PER_MINUTE": str(per_minute)})
    os.environ.update(env)
    for client in (clients.storage_client, clients.publisher_client, clients.subscriber_client):
        client.cache_clear()
    return env


def upload(names: list[str], rate: float | None = None) -> dict[str, float]:
    """Upload one small JPEG under each name, at `rate` a second (None: as fast as it goes);
    when each upload ended (epoch seconds)."""
    from hub_import.core.clients import storage_client

    bucket, image, ended = storage_client().bucket(LANDING_BUCKET), make_image("JPEG", 64, 48), {}

    def one(name: str) -> None:
        bucket.blob(name).upload_from_string(image, content_type="image/jpeg")
        ended[name] = time.time()
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        if rate is None:
            list(pool.map(one, names))
        else:
            futures, began = [], time.monotonic()
            for i, name in enumerate(names):
                time.sleep(max(0.0, began + i / rate - time.monotonic()))
                futures.append(pool.submit(one, name))
            for f in futures:
                f.result()
    return ended


def listed(env: dict, names: set[str], wait_s: float) -> dict[str, list[float]]:
    """The Hub's store times (epoch seconds) of each of `names` it lists, waiting up to `wait_s`
    for all of them; a name listed twice has two."""
    deadline = time.monotonic() + wait_s
    while True:
        rows = requests.get(f"{env['HUB_API_URL']}/_admin/assets", params={"project": HUB_PROJECT},
                            timeout=120).json()["assets"]
        found: dict[str, list[float]] = {}
        for row in rows:
            if row["externalId"] in names:
                found.setdefault(row["externalId"], []).append(datetime.fromisoformat(row["createdAt"]).timestamp())
        if len(found) >= len(names) or time.monotonic() >= deadline:
            return found
        time.sleep(5)


def calls(state_dir: Path, since: float) -> list[tuple[float, float]]:
    """The scheduler's calls to the flush since `since`: (began, answered), epoch seconds."""
    spans = []
    for text in (state_dir / "scheduler.log").read_text().splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if line.get("called_at", 0) >= since:
            spans.append((line["called_at"], line["answered_at"]))
    return spans


def schedule_floor(landed: float, spans: list[tuple[float, float]]) -> float:
    """How long a file that landed at `landed` had to wait for a flush to be running."""
    for began, answered in spans:
        if began <= landed < answered:
            return 0.0
    later = [began for began, _ in spans if began > landed]
    return min(later) - landed if later else 0.0


def floors(names: list[str], uploaded: dict[str, float], found: dict[str, list[float]],
           spans: list[tuple[float, float]]) -> dict[str, float]:
    """Per file, the least wait the schedule and the batching impose: until a flush runs, and until
    the last file of its manifest has landed (assets the Hub stored in one import share their
    `createdAt`). No flush, however fast, lists a file earlier."""
    last_of: dict[float, float] = {}
    for name, times in found.items():
        if name in uploaded:
            last_of[times[0]] = max(last_of.get(times[0], 0.0), uploaded[name])
    return {n: max(schedule_floor(uploaded[n], spans), last_of[found[n][0]] - uploaded[n])
            for n in names if n in found}


def outcome(names: list[str], uploaded: dict[str, float], found: dict[str, list[float]],
            spans: list[tuple[float, float]]) -> dict:
    """Listed, duplicated, latency and floors of `names`, and what is left beyond the floor."""
    floor = floors(names, uploaded, found, spans)
    latency = {n: min(found[n]) - uploaded[n] for n in floor}
    result = {"files": len(names), "listed": len(floor),
              "duplicates": sum(len(found[n]) - 1 for n in names if n in found),
              "latency_s": spread(list(latency.values())),
              "schedule_floor_s": spread([schedule_floor(uploaded[n], spans) for n in floor]),
              "floor_s": spread(list(floor.values())),
              "beyond_floor_s": spread([latency[n] - floor[n] for n in floor])}
    result["ratio_p95"] = ratio(result["latency_s"]["p95"], result["floor_s"]["p95"])
    result["ratio_max"] = ratio(result["latency_s"]["max"], result["floor_s"]["max"])
    return result


def case_steady(state_dir: Path, rates: list[int], seconds: float) -> dict:
    """Files at each of `rates` a second for `seconds`, one rate after the other (see the module)."""
    began = time.time()
    env = start(state_dir, 100, scheduler_every=60)
    try:
        loads, uploaded, phases = [load()], {}, {}
        for rate in rates:
            names = [f"steady/{rate}/{i:06d}.jpg" for i in range(int(rate * seconds))]
            phase_began = time.time()
            uploaded.update(upload(names, rate))
            phases[rate] = (names, phase_began, time.time())
            loads.append(load())
        found = listed(env, set(uploaded), LISTED_WAIT_S)
        spans = calls(state_dir, began)
    finally:
        down(state_dir)
    results = {}
    for rate, (names, phase_began, phase_ended) in phases.items():
        result = outcome(names, uploaded, found, spans)
        result["uploaded_per_s"] = round(len(names) / (phase_ended - phase_began), 1)
        results[rate] = result
    return {"rates": results, "flush_calls": len(spans), "load": loads, "seconds_per_rate": seconds}


def queued(state_dir: Path, offset: int) -> int:
    """How many objects the ingest function has queued since its log was `offset` bytes long."""
    with (state_dir / "ingest.log").open("rb") as log:
        log.seek(offset)
        return log.read().count(b'"message": "queued"')


def case_burst(state_dir: Path, n: int, per_minute: int, land: bool) -> dict:
    """`n` files at once, the Hub at `per_minute` (see the module). `land`: upload them and wait
    until the ingest function has queued them all; otherwise queue their messages directly."""
    from hub_import.core.clients import storage_client

    env = start(state_dir, per_minute, scheduler_every=None)
    try:
        loads, names, began = [load()], [f"burst/{i:06d}.jpg" for i in range(n)], time.time()
        if land:
            offset = (state_dir / "ingest.log").stat().st_size
            upload(names)
            uploads_s = time.time() - began
            while queued(state_dir, offset) < n and time.time() - began < LISTED_WAIT_S + uploads_s:
                time.sleep(1)
        else:
            publish_messages(env, "burst/", n)
            uploads_s = None
        landed_s = time.time() - began
        # Half the ledger floor's creates just before the flush and half just after (see bench.py).
        bucket = storage_client().bucket(STATE_BUCKET)
        ledger = ledger_floor(bucket, n // 2, "bench/ledger-floor-a/")
        flush_began = time.time()
        scheduler = spawn("scheduler", [sys.executable, str(ROOT / "deploy" / "local" / "scheduler.py"), "--target",
                                        env["FLUSH_URL"], "--every", "1"], state_dir)
        found = listed(env, set(names), LISTED_WAIT_S)
        os.killpg(scheduler.pid, signal.SIGTERM)  # no more flushes beside the floor's second half
        scheduler.wait()
        last = max((min(t) for t in found.values()), default=flush_began) - flush_began
        loads.append(load())
        stats = requests.get(f"{env['HUB_API_URL']}/_admin/stats", timeout=10).json()["requests"]
        ledger += ledger_floor(bucket, n - n // 2, "bench/ledger-floor-b/")
        loads.append(load())
    finally:
        down(state_dir)
    hub = hub_paced_floor(import_calls(n, MANIFEST), per_minute)
    return {"files": n, "listed": len(found), "duplicates": sum(len(t) - 1 for t in found.values()),
            "landed_by": "uploads and the ingest function" if land else "messages queued directly",
            "uploads_s": round(uploads_s, 1) if uploads_s else None, "queued_s": round(landed_s, 1),
            "per_minute": per_minute, "seconds_to_last": round(last, 1), "hub_floor_s": round(hub, 1),
            "ledger_floor_s": round(ledger, 1), "ratio_hub": ratio(last, hub), "ratio_ledger": ratio(last, ledger),
            "import_calls": stats.get("POST /v2/project/<project_id>/cloud", {}), "load": loads}


def report_steady(line, state_dir: Path) -> None:
    """The steady case at BENCH_STEADY_RATES (20,100) files a second for BENCH_STEADY_SECONDS (180)
    each, one `line` per rate."""
    seconds = float(os.environ.get("BENCH_STEADY_SECONDS", "180"))
    rates = [int(r) for r in os.environ.get("BENCH_STEADY_RATES", "20,100").split(",")]
    result = case_steady(state_dir, rates, seconds)
    for rate, r in result["rates"].items():
        lat, floor = r["latency_s"], r["floor_s"]
        line(f"9 latency {rate}/s", f"{r['listed']}/{r['files']} listed, {r['duplicates']} dup; p50/p95/max {lat['p50']}/"
             f"{lat['p95']}/{lat['max']} s; floor {floor['p50']}/{floor['p95']}/{floor['max']} s",
             "p95 < 90 s, max < 120 s", r["listed"] == r["files"] and r["duplicates"] == 0
             and lat["p95"] < 90 and lat["max"] < 120, **r, flush_calls=result["flush_calls"], load=result["load"])


def report_bursts(line, state_dir: Path, n: int) -> None:
    """The burst case of `n` files at each Hub limit of BENCH_BURST_RATES (100,1000 a minute), one
    `line` each; the first lands them through uploads and the ingest function."""
    rates = [int(r) for r in os.environ.get("BENCH_BURST_RATES", "100,1000").split(",")]
    for i, per_minute in enumerate(rates):
        r = case_burst(state_dir, n, per_minute, land=i == 0)
        line(f"10 burst {per_minute}/min", f"{r['listed']}/{n} in {r['seconds_to_last']} s; floors: Hub "
             f"{r['hub_floor_s']} s (x{r['ratio_hub']}), ledger {r['ledger_floor_s']} s (x{r['ratio_ledger']})",
             "all, once (report)", r["listed"] == n and r["duplicates"] == 0, **r)
