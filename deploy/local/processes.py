"""Starting and stopping the local stack's servers: each on a free port, each stopped when done.

Every server runs in its own process group with its log at STATE_DIR/NAME.log and its pid at
STATE_DIR/NAME.pid, so that `stop_all` can end it (and whatever it started, like the Pub/Sub
emulator's Java process) from any later shell. Used by `make up` and by the tests alike.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


class StackError(RuntimeError):
    """A server that could not start; the message says why and what to do."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(name: str, args: list[str], state_dir: Path, env: dict | None = None,
          cwd: Path | None = None) -> subprocess.Popen:
    """Start `args` in a new process group, logging to STATE_DIR/NAME.log, pid in NAME.pid. Its
    environment is ours with `env` over it; a None value in `env` leaves that variable out."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log = open(state_dir / f"{name}.log", "ab")
    environ = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env=environ, cwd=cwd or ROOT, start_new_session=True)
    log.close()
    (state_dir / f"{name}.pid").write_text(str(process.pid))
    return process


def log_tail(state_dir: Path, name: str, lines: int = 15) -> str:
    path = state_dir / f"{name}.log"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(check: Callable[[], bool], name: str, process: subprocess.Popen, state_dir: Path,
               timeout: float = 60) -> None:
    """Poll `check` until it is true; StackError with the log's tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        if process.poll() is not None:
            raise StackError(f"{name} exited with code {process.returncode}:\n{log_tail(state_dir, name)}")
        if time.monotonic() > deadline:
            raise StackError(f"{name} did not become ready in {timeout:.0f} s:\n{log_tail(state_dir, name)}")
        time.sleep(0.1)


def http_ok(url: str) -> Callable[[], bool]:
    return lambda: requests.get(url, timeout=1).status_code < 500


def running(state_dir: Path) -> dict[str, int]:
    """The servers recorded in STATE_DIR/*.pid whose process group is still alive, by name; pid
    files left by a stack that died are not a running stack."""
    alive = {}
    for pid_file in sorted(state_dir.glob("*.pid")):
        try:
            pid = int(pid_file.read_text())
        except (ValueError, OSError):
            continue
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass  # alive, another user's
        alive[pid_file.stem] = pid
    return alive


def refuse_if_running(state_dir: Path) -> None:
    """StackError when a stack already runs in STATE_DIR: starting again would stop it and wipe its
    buckets, queues and Hub (`up` starts fresh), so the person must say so with `make down`."""
    alive = running(state_dir)
    if alive:
        raise StackError(f"a local stack is already running (pid {min(alive.values())}); make down first")


def stop_all(state_dir: Path, grace: float = 5.0) -> list[str]:
    """End every process group recorded in STATE_DIR/*.pid; returns the names stopped."""
    stopped = []
    pids = {}
    for pid_file in sorted(state_dir.glob("*.pid")):
        try:
            pids[pid_file.stem] = int(pid_file.read_text())
        except ValueError:
            pass
        pid_file.unlink()
    for name, pid in pids.items():
        try:
            os.killpg(pid, signal.SIGTERM)
            stopped.append(name)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    for pid in pids.values():
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for pid in pids.values():
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    return stopped


def _alive(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped:
            return False
    except ChildProcessError:
        pass
    try:
        os.killpg(pid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


@dataclass
class HubStandin:
    """A running Hub stand-in (hub_standin.py) and the handles to drive it."""

    url: str
    api_key: str
    data_dir: Path
    process: subprocess.Popen | None
    name: str
    state_dir: Path

    def faults(self, **changes) -> dict:
        """Set fault switches (see hub_standin.py); returns them all."""
        answer = requests.post(f"{self.url}/_admin/faults", json=changes, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def add_project(self, project: str) -> None:
        requests.post(f"{self.url}/_admin/projects", json={"_id": project}, timeout=10).raise_for_status()

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_admin/stats", timeout=10).json()

    def reset_stats(self) -> None:
        requests.post(f"{self.url}/_admin/reset-stats", timeout=10).raise_for_status()

    def commit_held(self) -> int:
        """Store every slow commit the stand-in still holds, now; returns how many."""
        answer = requests.post(f"{self.url}/_admin/commit-held", timeout=60)
        answer.raise_for_status()
        return answer.json()["stored"]

    def all_assets(self, project: str) -> list[dict]:
        """Every live asset the Hub holds in `project`, oldest first: the judge's view, past every
        switch the stand-in may have on (its listing order, filters, faults)."""
        for attempt in range(50):
            try:
                answer = requests.get(f"{self.url}/_admin/assets", params={"project": project}, timeout=60)
                answer.raise_for_status()
                return answer.json()["assets"]
            except requests.RequestException:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        return []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        (self.state_dir / f"{self.name}.pid").unlink(missing_ok=True)


def start_hub_standin(data_dir: Path, api_key: str, *, state_dir: Path, projects=("demo-project",),
                      storages=("demo-storage",), batches=(), faults: dict | None = None,
                      seed: int | None = None, port: int | None = None, name: str = "hub") -> HubStandin:
    """Start hub_standin.py on a free port (or `port`) and wait until it answers."""
    import json

    port = port or free_port()
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
    # The key goes in through the environment, not argv, where `ps` would show it.
    process = spawn(name, args, state_dir, env={"HUB_API_KEY": api_key})
    url = f"http://127.0.0.1:{port}"
    wait_until(http_ok(f"{url}/_admin/faults"), name, process, state_dir, timeout=30)
    return HubStandin(url=url, api_key=api_key, data_dir=Path(data_dir), process=process, name=name,
                      state_dir=state_dir)
