"""A fault switch in front of fake-gcs-server: the faults of our own infrastructure, on demand.

    python -m deploy.local.gcs_fault_proxy --upstream http://127.0.0.1:PORT [--port 0] [--faults JSON]

A plain HTTP reverse proxy: clients reach it through STORAGE_EMULATOR_HOST as if it were the
emulator. Switches, set at start (--faults) or at run time (POST /_proxy/faults with the keys
to change; GET shows them all):

    fail_before   share of requests answered 503 without forwarding them (never applied)
    fail_after    share of requests forwarded, applied, and then answered 503 (the answer is
                  lost: the case that makes a retried conditional write meet its own result)
    latency_ms    added before forwarding
    only          "all" requests, or only "conditional" ones (those carrying ifGenerationMatch:
                  the ledger's create-if-absent and compare-and-swap writes, and guarded deletes)
    seed          for the random draws (null: unseeded)

GET /_proxy/stats counts requests, forwarded, failed_before and failed_after (by kind), and
delayed (requests held latency_ms); a test asserts from them that its fault fired;
POST /_proxy/reset-stats clears them. Nothing under /_proxy is forwarded.
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

DEFAULTS = {"fail_before": 0.0, "fail_after": 0.0, "latency_ms": 0, "only": "all", "seed": None}
# Hop-by-hop headers (RFC 9110 7.6.1) and the ones this proxy sets itself.
_DROP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
         "content-length", "host"}


class Switches:
    """The fault switches and the counts, shared by every handler thread."""

    def __init__(self, faults: dict):
        self.lock = threading.Lock()
        self.faults = dict(DEFAULTS)
        self.stats: Counter = Counter()
        self.random = random.Random()
        self.update(faults)

    def update(self, changes: dict) -> dict:
        unknown = set(changes) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown switch(es) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
        if changes.get("only", "all") not in ("all", "conditional"):
            raise ValueError("only: expected 'all' or 'conditional'")
        with self.lock:
            self.faults.update(changes)
            if "seed" in changes:
                self.random.seed(changes["seed"])
            return dict(self.faults)

    def draw(self, conditional: bool) -> str:
        """'before', 'after' or '' for one request, counted."""
        kind = "conditional" if conditional else "other"
        with self.lock:
            self.stats["requests"] += 1
            self.stats[f"requests_{kind}"] += 1
            if self.faults["only"] == "conditional" and not conditional:
                return ""
            roll = self.random.random()
            if roll < self.faults["fail_before"]:
                self.stats["failed_before"] += 1
                self.stats[f"failed_before_{kind}"] += 1
                return "before"
            if roll < self.faults["fail_before"] + self.faults["fail_after"]:
                self.stats["failed_after"] += 1
                self.stats[f"failed_after_{kind}"] += 1
                return "after"
            return ""


def make_handler(upstream: str, switches: Switches):
    target = urlsplit(upstream)
    local = threading.local()

    def connection() -> http.client.HTTPConnection:
        if getattr(local, "conn", None) is None:
            local.conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        return local.conn

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the storage client's connection pool expects

        def log_message(self, *args):  # the counts say what happened; no line per request
            pass

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]] = (),
                    content_type: str = "application/json") -> None:
            self.send_response(status)
            sent_type = False
            for name, value in headers:
                if name.lower() not in _DROP:
                    self.send_header(name, value)
                    sent_type |= name.lower() == "content-type"
            if not sent_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _unavailable(self, why: str) -> None:
            body = json.dumps({"error": {"code": 503, "message": f"fault proxy: {why}",
                                         "errors": [{"reason": "backendError", "message": why}]}}).encode()
            self._answer(503, body)

        def _admin(self, body: bytes) -> None:
            path = urlsplit(self.path).path
            try:
                if path == "/_proxy/faults" and self.command == "POST":
                    answer = switches.update(json.loads(body or b"{}"))
                elif path == "/_proxy/faults":
                    answer = switches.update({})
                elif path == "/_proxy/stats":
                    with switches.lock:
                        answer = dict(switches.stats)
                elif path == "/_proxy/reset-stats" and self.command == "POST":
                    with switches.lock:
                        switches.stats.clear()
                    answer = {}
                else:
                    self._answer(404, b'{"error": "no such admin path"}')
                    return
            except (ValueError, TypeError) as exc:
                self._answer(400, json.dumps({"error": str(exc)}).encode())
                return
            self._answer(200, json.dumps(answer).encode())

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _DROP}
            headers["Host"] = target.netloc
            payload = body if body or self.command in ("POST", "PUT", "PATCH") else None
            try:
                return self._exchange(payload, headers)
            except (http.client.HTTPException, ConnectionError):
                # A kept-alive upstream connection the emulator closed meanwhile: once more, afresh.
                local.conn.close()
                local.conn = None
                return self._exchange(payload, headers)

        def _exchange(self, payload: bytes | None, headers: dict) -> tuple[int, list[tuple[str, str]], bytes]:
            conn = connection()
            conn.request(self.command, self.path, body=payload, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()

        def _handle(self) -> None:
            body = self._body()
            if self.path.startswith("/_proxy/"):
                self._admin(body)
                return
            conditional = "ifGenerationMatch" in parse_qs(urlsplit(self.path).query)
            fault = switches.draw(conditional)
            latency = switches.faults["latency_ms"]
            if latency:
                with switches.lock:
                    switches.stats["delayed"] += 1
                time.sleep(latency / 1000)
            if fault == "before":
                self._unavailable("not applied")
                return
            try:
                status, headers, payload = self._forward(body)
            except (http.client.HTTPException, OSError) as exc:
                self._unavailable(f"upstream failed: {type(exc).__name__}")
                return
            with switches.lock:
                switches.stats["forwarded"] += 1
            if fault == "after":
                self._unavailable("applied, answer lost")
                return
            self._answer(status, payload, headers)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    return Handler


@dataclass
class FaultProxy:
    """A running proxy (started with `start`), and the handles to drive it."""

    url: str
    process: object
    name: str
    state_dir: Path

    def faults(self, **changes) -> dict:
        answer = requests.post(f"{self.url}/_proxy/faults", json=changes, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_proxy/stats", timeout=10).json()

    def reset_stats(self) -> None:
        requests.post(f"{self.url}/_proxy/reset-stats", timeout=10).raise_for_status()

    def stop(self) -> None:
        import os
        import signal

        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        (self.state_dir / f"{self.name}.pid").unlink(missing_ok=True)


def start(upstream: str, *, state_dir: Path, faults: dict | None = None, name: str = "gcs-proxy") -> FaultProxy:
    """Start the proxy on a free port in front of `upstream` and wait until it answers."""
    from .processes import ROOT, free_port, http_ok, spawn, wait_until

    port = free_port()
    process = spawn(name, [sys.executable, "-m", "deploy.local.gcs_fault_proxy", "--upstream", upstream,
                           "--port", str(port), "--faults", json.dumps(faults or {})], Path(state_dir), cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    wait_until(http_ok(f"{url}/_proxy/faults"), name, process, Path(state_dir), timeout=30)
    return FaultProxy(url=url, process=process, name=name, state_dir=Path(state_dir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="fake-gcs-server's URL, e.g. http://127.0.0.1:4443")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--faults", default="{}", help="JSON object of switches")
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.upstream,
                                                                        Switches(json.loads(args.faults))))
    server.daemon_threads = True
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
