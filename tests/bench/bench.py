"""`make bench`: speed, Hub calls, memory and cost, as ratios against floors measured in the same run.

BENCH_N (default 20000) sets the volume, BENCH_CASES a comma-separated subset of
probe,ingest,flush,backfill,memory,rate,cost,sweep,steady,burst. The first eight share one local stack
(.local/bench, the Hub stand-in's rate limit lifted unless a case sets it); steady and burst
(latency.py) start stacks of their own: BENCH_STEADY_SECONDS (default 180) and
BENCH_STEADY_RATES (20,100) shape the steady one, BENCH_BURST_RATES (100,1000) the Hub limits a
burst of N files meets. Prints one line per case and writes every raw figure to
.local/bench.json. Nothing here is an assertion: targets are reported as met or missed.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from deploy.local.processes import HubStandin  # noqa: E402
from deploy.local.stack import down, up  # noqa: E402
from tests.bench.cost import case_cost  # noqa: E402
from tests.bench.floors import ledger_floor, publish_messages  # noqa: E402
from tests.bench.per_file import case_ingest, case_probe  # noqa: E402

N = int(os.environ.get("BENCH_N", "20000"))
SMALL = N // 10
RESULTS: dict = {}


def line(case: str, figure: str, target: str, met: bool | None, **raw) -> None:
    verdict = "n/a" if met is None else ("met" if met else "MISSED")
    print(f"{case:<22} {figure:<58} target {target:<28} {verdict}", flush=True)
    RESULTS[case] = {"figure": figure, "target": target, "met": met, **raw}


# -- helpers ----------------------------------------------------------------------------------
class CountingStore:
    """A JsonStore that counts GCS operations by class (A: writes, lists, deletes; B: reads)."""

    def __init__(self, store):
        self.store, self.a, self.b = store, 0, 0
        import threading
        self.lock = threading.Lock()

    def _count(self, kind: str) -> None:
        with self.lock:
            setattr(self, kind, getattr(self, kind) + 1)

    def create(self, *a, **k):
        self._count("a")
        return self.store.create(*a, **k)

    def write(self, *a, **k):
        self._count("a")
        return self.store.write(*a, **k)

    def read(self, *a, **k):
        self._count("b")
        return self.store.read(*a, **k)

    def delete(self, *a, **k):
        self._count("a")  # deletes are free in GCS; counted as A to stay on the safe side
        return self.store.delete(*a, **k)

    def list(self, *a, **k):
        self._count("a")
        return self.store.list(*a, **k)


def settings(env: dict, **extra):
    from hub_import.core.settings import load
    return load({**os.environ, **env, **{k: str(v) for k, v in extra.items()}})


def run_flush(env: dict, **extra) -> tuple[dict, CountingStore, float]:
    from hub_import.core.clients import publisher_client, storage_client, subscriber_client
    from hub_import.flush.run import Flush
    from hub_import.hub import HubClient
    from hub_import.state.store import JsonStore

    s = settings(env, **extra)
    store = CountingStore(JsonStore(storage_client().bucket(s.state_bucket)))
    hub = HubClient(s.hub_api_url, env["HUB_API_KEY"], requests_per_minute=s.requests_per_minute)
    started = time.perf_counter()
    total: dict = {}
    while True:
        summary = Flush(s, hub, store, subscriber_client(), publisher_client()).run().to_json()
        for k, v in summary.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                total[k] = total.get(k, 0) + v
        if summary["queue_empty"]:  # it pulled until the queue had nothing left
            break
    return total, store, time.perf_counter() - started


def child_peak_rss_mb(code: str, env: dict) -> float:
    """Run `code` in a fresh interpreter; its peak RSS in MB. (VmHWM, not ru_maxrss: on Linux a
    child's ru_maxrss starts from its parent's at fork, and this parent has made 50 MB images.)"""
    wrapper = code + ("\nprint('RSS', next(int(l.split()[1]) for l in open('/proc/self/status') "
                      "if l.startswith('VmHWM')))")
    done = subprocess.run([sys.executable, "-c", wrapper], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return int(done.stdout.split("RSS")[-1]) / 1024


# -- cases -------------------------------------------------------------------------------------
def case_flush(env: dict, hub: HubStandin) -> dict:
    import requests

    from hub_import.core.clients import storage_client

    publish_messages(env, "bench/flush/", N)
    hub.reset_stats()
    load_before = os.getloadavg()
    # Half the floor's creates just before the flush and half just after: other work on the
    # machine that comes and goes weighs on both alike.
    bucket = storage_client().bucket(env["STATE_BUCKET"])
    creates = ledger_floor(bucket, N // 2, "bench/flush-floor-a/")
    total, store, seconds = run_flush(env, FLUSH_BUDGET_SECONDS=1200)
    creates += ledger_floor(bucket, N - N // 2, "bench/flush-floor-b/")
    # The Hub calls, counted at the stand-in (reset just before the flush; read before the floor's
    # own posts below), not taken from the flush's own summary.
    stats = hub.stats()["requests"]
    imports = sum(stats.get("POST /v2/project/<project_id>/cloud", {}).values())
    calls = standin_calls(stats)
    # The floor: the same messages pulled and acked with the bare client, the same number of
    # manifests of the same size posted with bare requests, and the one conditional create per
    # object that "once" needs, at the flush's concurrency, against the same fake-gcs-server.
    publish_messages(env, "bench/floor/", N)
    t0 = time.perf_counter()
    pulled = drain(env)
    size = settings(env).max_assets_per_manifest
    session = requests.Session()
    for m in range(math.ceil(N / size)):
        body = {"assets": [{"externalId": f"floor/{m}/{i}", "data": f"https://storage.googleapis.com/landing/floor/{m}/{i}.jpg",
                            "storage": env["HUB_STORAGE_ID"], "metadata": {"width": 640, "height": 480}}
                           for i in range(size)], "uploadLocal": "false", "priority": 0}
        session.post(f"{env['HUB_API_URL']}/v2/project/bench-floor/cloud", json=body,
                     headers={"apikey": env["HUB_API_KEY"]}, timeout=60).raise_for_status()
    queue_and_hub = time.perf_counter() - t0
    floor = queue_and_hub + creates
    ratio = seconds / floor
    line("1 flush throughput", f"{N} in {seconds:.1f} s ({N / seconds:.0f}/s); floor {floor:.1f} s "
         f"(creates {creates:.1f}); ratio {ratio:.2f}", "ratio <= 1.3", ratio <= 1.3, seconds=seconds,
         floor_seconds=floor, floor_creates_seconds=creates, floor_queue_and_hub_seconds=queue_and_hub, ratio=ratio,
         floor_pulled=pulled, gcs_class_a=store.a, gcs_class_b=store.b, summary=total,
         load_before=load_before, load_after=os.getloadavg())
    expected = math.ceil(N / size)
    line("2 hub calls", f"{imports} imports for {N} assets (ceil(N/{size}) = {expected}); {calls} calls in all",
         "= ceil(N/size) + small const", imports == expected and calls - imports <= 10,
         imports=imports, expected=expected, all_calls=calls, flush_summary_calls=total["hub_calls"])
    return {"flush_seconds": seconds, "gcs_a": store.a, "gcs_b": store.b, "imports": imports,
            "calls": calls, "n": N}


def standin_calls(requests_by_route: dict) -> int:
    """The /v2 calls the stand-in answered, from its /_admin/stats "requests" rows (HTTP statuses only)."""
    return sum(n for route, statuses in requests_by_route.items() if route.split(" ")[-1].startswith("/v2/")
               for status, n in statuses.items() if status.isdigit())


def case_rate_limit(env: dict, hub: HubStandin) -> None:
    from hub_import.core.assets import Asset
    from hub_import.hub import HubClient

    assets_n, size = int(os.environ.get("BENCH_RATE_ASSETS", "60000")), 500
    hub.faults(rate_limit_per_minute=100, rate_limit_window_s=60)
    hub.reset_stats()
    client = HubClient(env["HUB_API_URL"], env["HUB_API_KEY"], requests_per_minute=100)
    calls = math.ceil(assets_n / size)
    t0 = time.perf_counter()
    for m in range(calls):
        chunk = [Asset(f"rate/{m}/{i}", f"https://storage.googleapis.com/landing/rate/{m}/{i}.jpg",
                       env["HUB_STORAGE_ID"]) for i in range(size)]
        client.import_assets("bench-floor", chunk, deadline=time.monotonic() + 600)
    wall = time.perf_counter() - t0
    hub.faults(rate_limit_per_minute=0)
    statuses = hub.stats()["requests"].get("POST /v2/project/<project_id>/cloud", {})
    floor = (calls - 1) * 60 / 100  # the first call is free; each next one waits 0.6 s at 100 a minute
    ratio = wall / floor
    line("3 rate limit", f"{calls} calls in {wall:.1f} s, floor {floor:.1f} s, {statuses.get('429', 0)} x 429",
         "0 x 429, within 10% of floor", statuses.get("429", 0) == 0 and ratio <= 1.10,
         wall=wall, floor=floor, ratio=ratio, statuses=statuses)


def fill_bucket(name: str, n: int) -> None:
    from hub_import.core.clients import storage_client

    bucket = storage_client().create_bucket(name)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: bucket.blob(f"docs/{i:06d}.pdf").upload_from_string(b"%PDF-1.4",
                                                                                    content_type="application/pdf"),
                      range(n)))


def case_backfill(env: dict) -> None:
    from hub_import.core.clients import publisher_client, storage_client
    from hub_import.core.messages import ObjectMessage
    from hub_import.core.objects import ObjectRef
    from hub_import.core.routes import Destination
    from hub_import.ops.backfill import backfill

    fill_bucket("bench-backfill", N)
    s = settings(env)
    t0 = time.perf_counter()
    report = backfill(s, "gs://bench-backfill/docs")
    ours = time.perf_counter() - t0
    # Floor: list with the bare client, publish the same messages with the bare publisher.
    t0 = time.perf_counter()
    dest = Destination(env["HUB_PROJECT_ID"], env["HUB_STORAGE_ID"])
    futures = []
    for blob in storage_client().bucket("bench-backfill").list_blobs(prefix="docs", page_size=1000):
        data, attrs = ObjectMessage(ObjectRef("bench-backfill", blob.name, int(blob.generation), int(blob.size)),
                                    dest).encode()
        futures.append(publisher_client().publish(s.topic_path, data, **attrs))
    for f in futures:
        f.result(timeout=120)
    floor = time.perf_counter() - t0
    ratio = ours / floor
    line("6 backfill", f"{report.queued} queued in {ours:.1f} s; floor {floor:.1f} s; ratio {ratio:.2f}",
         "ratio <= 1.3", ratio <= 1.3, seconds=ours, floor=floor, ratio=ratio)
    drain(env)


def drain(env: dict) -> int:
    """Pull and ack whatever is queued, with the bare client; how many messages that was.
    (Also the floor of case 1, and what keeps one case's messages from reaching the next.)"""
    from hub_import.core.clients import subscriber_client

    sub, path = subscriber_client(), settings(env).subscription_path
    pulled = 0
    while True:
        try:
            answer = sub.pull(subscription=path, max_messages=1000, timeout=2, retry=None)
        except Exception:  # noqa: BLE001 - DeadlineExceeded: empty
            return pulled
        if not answer.received_messages:
            return pulled
        sub.acknowledge(subscription=path, ack_ids=[m.ack_id for m in answer.received_messages])
        pulled += len(answer.received_messages)


def case_memory(env: dict, filled: set[str]) -> None:
    """Peak memory of a flush and of a backfill at SMALL and at N objects (a bucket of N documents
    already in `filled`, the backfill case's, is listed again rather than filled anew)."""
    flush_code = ("import os, sys; sys.path.insert(0, '.'); from tests.bench.bench import run_flush;"
                  "run_flush(dict(os.environ), FLUSH_BUDGET_SECONDS=1200)")
    backfill_code = ("import os, sys; sys.path.insert(0, '.'); from tests.bench.bench import settings;"
                     "from hub_import.ops.backfill import backfill; backfill(settings(dict(os.environ)), 'gs://{bucket}/docs')")
    figures = {"flush": [], "backfill": []}
    for n in (SMALL, N):
        publish_messages(env, f"bench/mem{n}/", n)
        figures["flush"].append(child_peak_rss_mb(flush_code, env))
        bucket = "bench-backfill" if n == N and "bench-backfill" in filled else f"bench-mem{n}"
        if bucket not in filled:
            fill_bucket(bucket, n)
        figures["backfill"].append(child_peak_rss_mb(backfill_code.format(bucket=bucket), env))
        drain(env)
    growth = {k: (v[1] - v[0]) / v[0] for k, v in figures.items()}
    peak = max(v[1] for v in figures.values())
    line("7 memory", "; ".join(f"{k} {v[0]:.0f} -> {v[1]:.0f} MB (+{growth[k] * 100:.0f}%)" for k, v in figures.items()),
         "< 256 MB, growth < 20%", peak < 256 and max(growth.values()) < 0.20,
         **{f"{k}_{n}": v[i] for k, v in figures.items() for i, n in ((0, SMALL), (1, N))})


def timed(case: str, run, *args):
    """run(*args), its wall time kept in .local/bench.json (where `make bench` spends its minutes)."""
    started = time.perf_counter()
    try:
        return run(*args)
    finally:
        RESULTS.setdefault("_case_seconds", {})[case] = round(time.perf_counter() - started, 1)


STACK_CASES = ("probe", "ingest", "flush", "backfill", "memory", "rate", "cost", "sweep")


def main() -> int:
    state_dir = ROOT / ".local" / "bench"
    started = time.perf_counter()
    cases = os.environ.get("BENCH_CASES", ",".join(STACK_CASES) + ",steady,burst").split(",")
    print(f"make bench: N = {N}, cases {', '.join(cases)}", flush=True)
    RESULTS["_machine"] = {"load_at_start": os.getloadavg(), "cores": os.cpu_count()}
    if any(c in cases for c in STACK_CASES):
        run_stack_cases(state_dir, cases)
    if "steady" in cases:
        from tests.bench.latency import report_steady
        timed("9 latency", report_steady, line, ROOT / ".local" / "bench")
    if "burst" in cases:
        from tests.bench.latency import report_bursts
        timed("10 burst", report_bursts, line, ROOT / ".local" / "bench", N)
    RESULTS["_total_seconds"] = time.perf_counter() - started
    RESULTS["_machine"]["load_at_end"] = os.getloadavg()
    out = ROOT / ".local" / "bench.json"
    out.write_text(json.dumps(RESULTS, indent=1, default=str))
    print(f"make bench: {RESULTS['_total_seconds']:.0f} s; figures in {out.relative_to(ROOT)}")
    return 0


def run_stack_cases(state_dir: Path, cases: list[str]) -> None:
    """The cases that share one stack (no scheduler, the Hub's rate limit lifted)."""
    started = time.perf_counter()
    # A second Hub project for the floors, so that they never mix with the product's assets.
    env = up(state_dir, scheduler_every=None, hub_faults={"rate_limit_per_minute": 0},
             settings={"MAX_ASSETS_PER_MANIFEST": "500"}, hub_projects=("bench-floor",))
    os.environ.update(env)
    hub = HubStandin(url=env["HUB_API_URL"], api_key=env["HUB_API_KEY"], data_dir=state_dir, process=None,
                     name="hub", state_dir=state_dir)
    try:
        print(f"stack up in {time.perf_counter() - started:.1f} s", flush=True)
        flush = None
        if "probe" in cases:
            timed("5 size probe", case_probe, line)
        if "ingest" in cases:
            timed("4 ingest", case_ingest, line, env)
        if "flush" in cases or "cost" in cases:
            flush = timed("1 flush", case_flush, env, hub)
        if "backfill" in cases:
            timed("6 backfill", case_backfill, env)
        if "memory" in cases:
            timed("7 memory", case_memory, env, {"bench-backfill"} if "backfill" in cases else set())
        if "rate" in cases:
            timed("3 rate limit", case_rate_limit, env, hub)
        if "cost" in cases and flush:
            case_cost(line, flush)
        if "sweep" in cases:  # BENCH_SWEEP_N objects (tests/bench/sweep.py)
            from tests.bench.sweep import case_sweep
            timed("8 sweep", case_sweep, line, env)
    finally:
        down(state_dir)


if __name__ == "__main__":
    sys.exit(main())
