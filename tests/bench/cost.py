"""`make bench`, case 8: what 100,000 files cost on GCP, from the flush case's counts of GCS
operations and Hub calls, at list prices. `line` is bench.py's reporter."""
from __future__ import annotations


PRICES = {  # list prices (USD), Tier 1 regions, as published in 2025-2026
    "run_vcpu_second": 0.000024, "run_gib_second": 0.0000025, "run_request": 0.40 / 1e6,
    "pubsub_tib": 40.0, "gcs_class_a": 0.005 / 1000, "gcs_class_b": 0.0004 / 1000, "scheduler_job_month": 0.10,
}


def case_cost(line, flush: dict) -> None:
    """What 100,000 files cost on GCP at list prices, from the flush case's counts."""
    per = 100_000 / flush["n"]
    ingest_s = 0.15  # per event, wall (a ranged read and a publish); the function is billed per request-second
    flush_s = flush["flush_seconds"] * per
    runs = {
        "ingest invocations": 100_000 * PRICES["run_request"],
        "ingest compute (1 vCPU 0.17, 256 MiB)": 100_000 * ingest_s * (0.1666 * PRICES["run_vcpu_second"] + 0.25 * PRICES["run_gib_second"]),
        "flush compute (1 vCPU 0.33, 512 MiB)": flush_s * (0.333 * PRICES["run_vcpu_second"] + 0.5 * PRICES["run_gib_second"]),
        "pubsub (event + queue, 1 KB min each way)": 4 * 100_000 * 1000 / 2**40 * PRICES["pubsub_tib"],
        "gcs class A (ledger, manifests)": flush["gcs_a"] * per * PRICES["gcs_class_a"],
        "gcs class B (probe reads, ledger reads)": (flush["gcs_b"] * per + 100_000 * 1.1) * PRICES["gcs_class_b"],
    }
    total = sum(runs.values())
    hub_calls = flush["calls"] * per
    line("8 cost / 100k files", f"${total:.2f} GCP; {hub_calls:.0f} Hub calls ({hub_calls / 100:.0f} min at 100/min); "
         f"naive: 100000 calls (1000 min)", "(report)", None, breakdown=runs, prices=PRICES,
         scheduler_idle_month=PRICES["scheduler_job_month"] + 43_200 * 1.0 * (0.333 * PRICES["run_vcpu_second"]),
         hub_calls=hub_calls)
