#!/usr/bin/env python3
"""The local Cloud Scheduler: POST to a function every few seconds, one call at a time.

The stack runs one for the flush (every few seconds) and, with SWEEP_EVERY_MINUTES > 0, one for
the sweep (every SWEEP_EVERY_MINUTES minutes, `--name sweep`), each its own process and log, as
Terraform makes two Cloud Scheduler jobs: a long sweep never delays a flush.

Usage: scheduler.py --target URL [--every SECONDS] [--name flush|sweep]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--name", default="flush", help="what the target is, for the log lines (default flush)")
    args = parser.parse_args(argv)
    while True:
        started, called_at = time.monotonic(), time.time()
        try:
            answer = requests.post(args.target, timeout=600)
            line = {"severity": "INFO" if answer.ok else "WARNING", "message": f"{args.name} answered {answer.status_code}",
                    "summary": answer.json() if answer.headers.get("content-type", "").startswith("application/json")
                    else answer.text[:300]}
        except requests.RequestException as exc:
            line = {"severity": "WARNING", "message": f"{args.name} call failed: {type(exc).__name__}"}
        # When each call began and ended (epoch seconds): what `make bench` measures latency against.
        line.update(called_at=round(called_at, 3), answered_at=round(time.time(), 3))
        print(json.dumps(line), flush=True)
        time.sleep(max(0.0, args.every - (time.monotonic() - started)))


if __name__ == "__main__":
    sys.exit(main())
