"""Red team: sending.py's rule "a 400 whose halves both fail with the same message is the request's
fault: fail every asset" against a Hub whose 400 does not name the asset.

hub-api.md lists "the wording of 400 errors" among what the public material leaves open, and
quirks.py guesses that a 400 names a bad asset as `assets[<i>]`; the stand-in always words it so
and has no switch for another wording. A proxy in front of it plays a Hub that says what is wrong
but not where (one constant message). Then one bad asset is found by bisection, but two bad
assets that fall into different halves make both halves fail alike, and every good asset of the
manifest is failed and dead-lettered with them; `replay --failed` sends the same list again and
fails it the same way, so the good files cannot get in until the bad ones are removed.
"""
from __future__ import annotations

import http.server
import json
import re
import threading
import uuid

import pytest
import requests

from tests.integration.flushing import assert_once, flush_until_idle, held, publish, refs
from tests.integration.redteam import stack, the_hub  # noqa: F401, F811 - fixtures


def start_proxy(target: str, name_assets: bool) -> http.server.ThreadingHTTPServer:
    """A proxy to the stand-in that rewrites an import's 400 message to its first problem without
    the asset's index (unless `name_assets`)."""

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("apikey", "content-type", "accept")}
            answer = requests.request(self.command, target + self.path, data=body, headers=headers,
                                      allow_redirects=False, timeout=120)
            data = answer.content
            if answer.status_code == 400 and self.path.split("?")[0].endswith("/cloud") and not name_assets:
                message = answer.json().get("message", "")
                first = message.removeprefix("Invalid assets: ").split("; ")[0]
                data = json.dumps({"status": "fail", "message": "Invalid asset: " +
                                   re.sub(r"assets\[\d+\]\.?", "", first)}).encode()
            self.send_response(answer.status_code)
            for key in ("Content-Type", "Retry-After", "Location"):
                if key in answer.headers:
                    self.send_header(key, answer.headers[key])
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _forward

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("name_assets", [pytest.param(True, marks=pytest.mark.soak), False], ids=["control-400-names-assets", "400-names-no-asset"])
def test_good_assets_go_in_beside_two_bad_ones_whatever_the_400_says(stack, the_hub, name_assets):
    # GIVEN a manifest of 20 files of which every other one carries a corrupt size (the Hub answers
    # 400 for those), so that both halves of the manifest hold bad ones (with 2 bad among 500, one
    # manifest in two is so)
    prefix = f"rt-400-{int(name_assets)}-{uuid.uuid4().hex[:6]}/"
    good = []
    for i, ref in enumerate(refs(prefix, 20)):
        if i % 2:
            publish(stack, [ref], size=(-5, 10))
        else:
            good += publish(stack, [ref])
    proxy = start_proxy(stack["HUB_API_URL"], name_assets)
    try:
        # WHEN the flush sends it through a Hub whose 400 names (or does not name) the bad asset
        summaries = flush_until_idle(stack, HUB_API_URL=f"http://127.0.0.1:{proxy.server_port}",
                                     MAX_ASSETS_PER_MANIFEST=20, HUB_REQUESTS_PER_MINUTE=6000)
    finally:
        proxy.shutdown()
    # THEN the 10 good files are in the Hub once, and only the 10 bad ones failed
    failed = sum(s["failed"] for s in summaries)
    assert failed == 10, json.dumps({"failed": failed, "good_in_hub": sum(held(stack, prefix).values())})
    assert_once(stack, good)
