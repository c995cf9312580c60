"""The GCS fault proxy counts every fault it injects, by kind, so that a test can assert that its
fault fired (and never passes on a run where the dice spared it)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from deploy.local.gcs_fault_proxy import Switches, make_handler


class Upstream(BaseHTTPRequestHandler):
    """A stand-in for fake-gcs-server: counts what reaches it, answers 200 {}."""
    protocol_version = "HTTP/1.1"
    seen: list = []

    def log_message(self, *args):
        pass

    def _ok(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        Upstream.seen.append(self.command)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _ok


def serve(handler) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def proxy():
    Upstream.seen = []
    upstream, upstream_url = serve(Upstream)
    switches = Switches({"seed": 3})
    server, url = serve(make_handler(upstream_url, switches))
    yield url, switches
    server.shutdown()
    upstream.shutdown()


WRITE = "/upload/storage/v1/b/state/o?uploadType=media&name=x&ifGenerationMatch=0"


def stats(url: str) -> dict:
    return requests.get(f"{url}/_proxy/stats", timeout=10).json()


def test_each_kind_of_fault_is_counted_when_it_is_injected(proxy):
    url, _ = proxy
    requests.post(f"{url}/_proxy/faults", json={"fail_before": 1.0}, timeout=10).raise_for_status()
    assert requests.post(f"{url}{WRITE}", data=b"a", timeout=10).status_code == 503
    assert Upstream.seen == [], "failed before: never applied"
    requests.post(f"{url}/_proxy/faults", json={"fail_before": 0.0, "fail_after": 1.0}, timeout=10)
    assert requests.post(f"{url}{WRITE}", data=b"a", timeout=10).status_code == 503
    assert Upstream.seen == ["POST"], "failed after: applied, the answer lost"
    requests.post(f"{url}/_proxy/faults", json={"fail_after": 0.0, "latency_ms": 20}, timeout=10)
    assert requests.get(f"{url}/storage/v1/b/state/o/x", timeout=10).status_code == 200
    assert stats(url) == {"requests": 3, "requests_conditional": 2, "requests_other": 1, "failed_before": 1,
                          "failed_before_conditional": 1, "failed_after": 1, "failed_after_conditional": 1,
                          "forwarded": 2, "delayed": 1}


def test_only_conditional_spares_and_counts_nothing_else(proxy):
    url, _ = proxy
    requests.post(f"{url}/_proxy/faults", json={"fail_before": 1.0, "only": "conditional"}, timeout=10)
    assert requests.get(f"{url}/storage/v1/b/state/o/x", timeout=10).status_code == 200
    assert "failed_before" not in stats(url)
    assert requests.post(f"{url}{WRITE}", data=b"a", timeout=10).status_code == 503
    assert stats(url)["failed_before_conditional"] == 1
