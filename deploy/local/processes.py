"""Starting and stopping the local stack's servers: each on a free port, each stopped when done.

Used by the tests' fixtures and by the local stack alike, so that both start things the same way.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent


@dataclass
class HubStandin:
    """A running Hub stand-in (hub_standin.py) and the handles to drive it."""

    url: str
    api_key: str
    data_dir: Path
    process: subprocess.Popen
    args: list[str] = field(default_factory=list)

    def faults(self, **changes) -> dict:
        """Set fault switches (see hub_standin.py); returns them all."""
        answer = requests.post(f"{self.url}/_admin/faults", json=changes, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_admin/stats", timeout=10).json()

    def reset_stats(self) -> None:
        requests.post(f"{self.url}/_admin/reset-stats", timeout=10).raise_for_status()

    def all_assets(self, project: str) -> list[dict]:
        """Every asset the Hub holds in `project`, read through its public listing API."""
        rows: list[dict] = []
        page = 1
        while True:
            answer = requests.get(f"{self.url}/v2/project/{project}/assets",
                                  params={"page": page, "limit": 100, "sort": "createdAt"},
                                  headers={"apikey": self.api_key}, timeout=30)
            answer.raise_for_status()
            chunk = answer.json()["data"]["assets"]
            rows.extend(chunk)
            if len(chunk) < 100:
                return rows
            page += 1

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_hub_standin(data_dir: Path, api_key: str, *, projects=("demo-project",),
                      storages=("demo-storage",), batches=(), faults: dict | None = None,
                      seed: int | None = None, port: int = 0, log_path: Path | None = None) -> HubStandin:
    """Start hub_standin.py on a free port (or `port`) and wait until it answers."""
    args = [sys.executable, str(HERE / "hub_standin.py"), "--port", str(port), "--data-dir", str(data_dir),
            "--faults", json.dumps(faults or {})]
    for project in projects:
        args += ["--project", project]
    for storage in storages:
        args += ["--storage", storage]
    for batch in batches:
        args += ["--batch", batch]
    if seed is not None:
        args += ["--seed", str(seed)]
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    # The key goes in through the environment, not argv, where `ps` would show it.
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True,
                               env={**os.environ, "HUB_API_KEY": api_key})
    line = process.stdout.readline()
    if not line:
        process.wait(10)
        raise RuntimeError(f"the Hub stand-in did not start (exit {process.returncode}); see {log_path}")
    url = json.loads(line)["url"]
    deadline = time.monotonic() + 10
    while True:
        try:
            requests.get(f"{url}/_admin/faults", timeout=1).raise_for_status()
            break
        except requests.RequestException:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    return HubStandin(url=url, api_key=api_key, data_dir=Path(data_dir), process=process, args=args)
