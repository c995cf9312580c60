#!/usr/bin/env python3
"""A local stand-in for Ango Hub's public API, faithful to ../shared/hub-api.md.

It is the one fake this project keeps: the Hub is a SaaS nothing here can reach. It answers
every call the project (and the official `ango` SDK) makes, with the Hub's auth, validation,
rate limit and response shapes: import from cloud storage, the asset listing, the soft-delete
(`DELETE /v2/project/{id}/assets`), projects, batches, storages (`page`, `limit`, `_id`). It
keeps accepted assets in a data directory so that they survive a restart, and every fault the
real Hub (or a proxy in front of it) can show, and every behaviour the public material leaves
open, is a switch:

| switch | values (default first) | what it does |
|---|---|---|
| **faults** | | |
| `error_rate` | fraction, 0 | /v2 calls answered 500 `{"status": "error"}` before doing anything |
| `rate_429` | fraction, 0 | /v2 calls answered 429 before doing anything (`Retry-After: retry_after_s`) |
| `retry_after_s` | seconds, 1 | the `Retry-After` of `rate_429`'s answers |
| `latency_ms` | ms, 0 | added to every /v2 call |
| `outage` | false, true | every /v2 call answers 503 |
| `drop_after_commit` | fraction, 0 | imports stored, then the connection closed without an answer: a reset (a timeout when `drop_hang_s` outlasts the client) |
| `drop_hang_s` | seconds, 0 | how long a dropped connection is held open first |
| `drop_after_delete` | fraction, 0 | soft-deletes done, then the connection closed without an answer (after `drop_hang_s`) |
| `rate_limit_per_minute` | integer, 100 | calls per API key per window, then 429 with `Retry-After`; 0: no limit |
| `rate_limit_window_s` | seconds, 60 | that window |
| `max_assets_per_request` | integer, 1000 | an import with more assets answers 400 |
| `slow_commit` | fraction, 0 | imports that validate, answer a failure (`slow_commit_as`), and are stored `slow_commit_delay_s` later by a background thread (their `createdAt` is then) |
| `slow_commit_as` | `504`, `timeout`, `reset` | 504 `{"status": "error", "message": "Gateway Timeout"}`; no answer for `slow_commit_hang_s`, then the connection closed; closed at once |
| `slow_commit_delay_s` | seconds, 4 | when a slow commit is stored |
| `slow_commit_hang_s` | seconds, 65 | how long `timeout` holds the connection |
| `max_body_bytes` | integer, 0 | above 0: a /v2 request body longer than this answers 413 with nginx's HTML page (not the Hub's JSON); nothing done |
| `short_created` | fraction, 0 | imports answered as `short_created_as` |
| `short_created_as` | `fewer`, `status_fail` | only the first floor(n/2) valid assets stored, 201 success with `assetsCreated` = `tasksCreated` = that number; 200 `{"status": "fail", "message": ...}`, nothing stored |
| `odd_status` | fraction, 0 | /v2 calls answered `odd_status_code` with a JSON error body before doing anything |
| `odd_status_code` | 409, any of 400-599 | e.g. 405, 418, 422 |
| `truncate_body` | fraction, 0 | imports stored, then answered 201 whose `Content-Length` is the full body's but only half of it is sent before the connection closes |
| `redirect_to` | "", a base URL | every /v2 call answers 307 `Location: <redirect_to><path and query>`; nothing done |
| `geofenced` | false, true | every /v2 call with a valid key answers 451 `{"status": "fail", "message": "Unavailable For Legal Reasons: organization is geofenced"}` |
| **guesses: behaviours the public material leaves open** | | |
| `list_order` | `honoured`, `oldest_first`, `newest_first` | guess `honoured`: the asset listing applies `sort` (`createdAt`, `externalId` or `_id`, `-` descending; default `-createdAt`, newest first); otherwise `sort` is ignored and rows come oldest or newest first |
| `list_created_at` | true, false | guess: listing rows carry `createdAt`; false: they have no such field |
| `list_max_limit` | integer, 100 | the listing's page size cap (documented 100); guess: a larger `limit` is capped, not refused |
| `external_id_filter` | `exact`, `substring`, `ignored` | guess `exact`: `filters={"externalId": v}` finds only v; `substring`: every externalId containing v; `ignored`: all rows |
| `storages_default_limit` | integer, 10 | `GET /v2/storages` without `limit` answers one page this long (documented 10); 0: all |
| `storages_max_limit` | integer, 100 | the most rows a `GET /v2/storages` page holds, whatever `limit` asks (documented 100); guess: a larger `limit` is capped without a word |
| `storages_order` | `newest_first`, `oldest_first` | guess `newest_first`: the order of `GET /v2/storages` (by `createdAt`) |
| `retry_after` | true, false | guess: 429 answers carry `Retry-After`; false: they carry none |
| `delete_unknown_ids` | `ignored`, `400` | guess `ignored`: the soft-delete skips ids that name no live asset of the project (already deleted, another project's, unknown), as a MongoDB update by ids would; `400`: it refuses the call and deletes nothing |
| `list_lag_s` | seconds, 0 | guess 0: the asset listing shows an asset as soon as its import answered; above 0 it is hidden from `GET /v2/project/{id}/assets` (rows, filters and `total`) until it is that old, as a search index behind the database would hide it |
| `list_data` | true, false | guess: listing rows carry `data`; false: they have no such field |

Fixed guesses, no switch: the soft-delete answers 200 `{"status": "success", "data":
{"deletedCount": N}}` (the SDK reads nothing of it); the listing's `data.total` counts every
row that passes the filters; an asset listing without `limit` answers 10 rows.

The front door, in this order, before a /v2 call does anything: `max_body_bytes` (413),
`redirect_to` (307), `outage` (503), the API key (401), `geofenced` (451), the rate limit and
`rate_429` (429), `latency_ms`, `odd_status`, `error_rate` (500).

Set switches at start (--faults JSON) or at run time: POST /_admin/faults with a JSON object
of the switches to change (400, changing nothing, when a name or value is not valid); GET
/_admin/faults shows them all. GET /_admin/stats counts requests by route and status, the
fault rows ("dropped after commit", "dropped after delete", "slow commit": scheduled/stored/"timer after commit-held",
"short created", "truncated body", "latency added"), the ids soft-deletes named that were not live ("soft-delete
ids"), and per project the live assets, the deleted ones and how many externalIds
more than one live asset carries; POST /_admin/reset-stats clears the request counts. POST
/_admin/commit-held stores every slow commit still held, now, and answers {"stored": N} (a test
says when a lost import lands, instead of sleeping its delay). POST
/_admin/storages adds storage integrations (one {"_id", "bucket"} object, or a list of them),
and POST /_admin/projects a project ({"_id"}), as a user does in the Hub UI. GET /_admin/assets?project=P lists every live asset of P,
oldest first, past every switch (a judge's view). Nothing under /_admin needs the API key:
the stand-in only ever listens on this machine.

Run `hub_standin.py --help` for the start options. With --port 0 it takes a free port and
prints one JSON line {"url": ...} on standard output (and writes the URL to --url-file).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import sys
import threading
from collections import defaultdict, deque
from pathlib import Path

from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from deploy.local.hub_standin_api import (MAX_PAGE_LIMIT, PRIORITY_RANGE, ValidationError,  # noqa: E402,F401
                                          add_v2_routes, fail)
from deploy.local.hub_standin_faults import FAULT_DEFAULTS, Switches, check_switches, too_large  # noqa: E402,F401
from deploy.local.hub_standin_store import HubState, check_data_url, public_asset  # noqa: E402,F401

GEOFENCED = "Unavailable For Legal Reasons: organization is geofenced"


def create_app(state: HubState, api_key: str, faults: dict | None = None, seed: int | None = None,
               clock=None) -> Flask:
    """The stand-in as a Flask app over `state`, answering /v2 calls only with `api_key`, its
    switches set from `faults` (ValueError when not valid) and their dice seeded with `seed`;
    `clock` (monotonic, sleep, later; default the real ones) is the simulation's seam."""
    app = Flask("hub_standin")
    app.json.sort_keys = False
    switches = Switches(faults, seed, clock)
    window: dict[str, deque] = defaultdict(deque)
    lock = threading.Lock()

    def over_rate_limit(key: str) -> int | None:
        """Seconds to wait when `key` has used up its window, else None (and count this call)."""
        limit, span = switches["rate_limit_per_minute"], float(switches["rate_limit_window_s"])
        if not limit:
            return None
        now = switches.clock.monotonic()
        with lock:
            calls = window[key]
            while calls and calls[0] <= now - span:
                calls.popleft()
            if len(calls) >= limit:
                return max(1, math.ceil(calls[0] + span - now))
            calls.append(now)
        return None

    @app.before_request
    def front_door():
        """What answers a /v2 call before the call itself runs, in the docstring's order."""
        if not request.path.startswith("/v2/"):
            return None
        if switches["max_body_bytes"] and len(request.get_data()) > switches["max_body_bytes"]:
            return too_large()
        if switches["redirect_to"]:
            target = switches["redirect_to"].rstrip("/") + request.environ.get("RAW_URI", request.full_path)
            return "", 307, {"Location": target}
        if switches["outage"]:
            return fail(503, "Service Unavailable", "error")
        key = request.headers.get("apikey", "")
        if not secrets.compare_digest(key, api_key):
            return fail(401, "Unauthorized: missing or invalid apikey")
        if switches["geofenced"]:
            return fail(451, GEOFENCED)
        wait = over_rate_limit(key)
        if wait is None and switches.roll("rate_429"):
            wait = int(switches["retry_after_s"])
        if wait is not None:
            body, status = fail(429, "Too many requests, rate limit exceeded")
            if switches["retry_after"]:
                body.headers["Retry-After"] = str(wait)
            return body, status
        if switches["latency_ms"]:
            switches.count("latency added")
            switches.clock.sleep(switches["latency_ms"] / 1000)
        if switches.roll("odd_status"):
            return fail(int(switches["odd_status_code"]), f"Request refused ({switches['odd_status_code']})")
        if switches.roll("error_rate"):
            return fail(500, "Internal Server Error", "error")
        return None

    @app.after_request
    def count(response):
        rule = request.url_rule.rule if request.url_rule else "(unmatched)"
        switches.count(f"{request.method} {rule}", str(response.status_code))
        return response

    add_v2_routes(app, state, switches)

    # -- admin, outside /v2 ------------------------------------------------------------
    @app.route("/_admin/faults", methods=["GET", "POST"])
    def admin_faults():
        if request.method == "POST":
            problem = switches.update(request.get_json(silent=True))
            if problem:
                return fail(400, problem)
            if not switches["rate_limit_per_minute"]:
                with lock:
                    window.clear()
        return jsonify(switches.values)

    @app.post("/_admin/storages")
    def admin_storages():
        """Create storage integrations at run time: {"_id": ..., "bucket": ...} or a list of them."""
        body = request.get_json(silent=True)
        many = body if isinstance(body, list) else [body]
        if not many or not all(isinstance(s, dict) and isinstance(s.get("_id"), str) and s["_id"] for s in many):
            return fail(400, "_id: required (one {\"_id\", \"bucket\"} object, or a list of them)")
        created = [state.ensure_storage(s["_id"], str(s.get("bucket", ""))) for s in many]
        return jsonify(created if isinstance(body, list) else created[0]), 201

    @app.post("/_admin/projects")
    def admin_projects():
        """Create a project at run time, as a user does in the Hub UI: {"_id": ...}."""
        body = request.get_json(silent=True) or {}
        if not isinstance(body.get("_id"), str) or not body["_id"]:
            return fail(400, "_id: required")
        return jsonify(state.ensure_project(body["_id"])), 201

    @app.get("/_admin/assets")
    def admin_assets():
        project = request.args.get("project", "")
        return jsonify({"assets": [public_asset(a) for a in state.live(project)]})

    @app.get("/_admin/stats")
    def admin_stats():
        with switches.lock:
            by_route: dict = defaultdict(dict)
            for (route, status), n in switches.stats.items():
                by_route[route][status] = n
            total = sum(n for (_, status), n in switches.stats.items() if status.isdigit())  # HTTP answers
        return jsonify({"requests": by_route, "total": total, **state.counts()})

    @app.post("/_admin/commit-held")
    def admin_commit_held():
        """Store every slow commit still held, now (each once: its timer then stores nothing)."""
        return jsonify({"stored": switches.commit_held()})

    @app.post("/_admin/reset-stats")
    def admin_reset_stats():
        with switches.lock:
            switches.stats.clear()
        with lock:
            window.clear()
        return jsonify({"status": "success"})

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # one line per request is noise at bench volume
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 takes any free port (default)")
    parser.add_argument("--data-dir", default=".local/hub", help="where assets are kept")
    parser.add_argument("--api-key", default=os.environ.get("HUB_API_KEY"),
                        help="the key callers must send (default: $HUB_API_KEY)")
    parser.add_argument("--project", action="append", default=[], help="a project id to exist")
    parser.add_argument("--storage", action="append", default=[],
                        help="a storage integration to exist: ID or ID:BUCKET")
    parser.add_argument("--batch", action="append", default=[], help="a batch to exist: PROJECT:NAME")
    parser.add_argument("--faults", default="{}", help="initial switches, as JSON (see the table above)")
    parser.add_argument("--seed", type=int, help="seed for the fault switches' dice")
    parser.add_argument("--url-file", help="write the URL served to this file once listening")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("--api-key (or $HUB_API_KEY) is required")
    try:
        faults = json.loads(args.faults)
    except ValueError as exc:
        parser.error(f"--faults: not JSON ({exc})")
    problem = check_switches(faults)
    if problem:
        parser.error(f"--faults: {problem}")
    state = HubState(Path(args.data_dir))
    for project in args.project:
        state.ensure_project(project)
    for storage in args.storage:
        storage_id, _, bucket = storage.partition(":")
        state.ensure_storage(storage_id, bucket)
    for batch in args.batch:
        project, sep, name = batch.partition(":")
        if not sep or not name:
            parser.error(f"--batch {batch!r}: expected PROJECT:NAME")
        state.ensure_project(project)
        state.create_batch(project, name)
    app = create_app(state, args.api_key, faults, args.seed)
    handler = WSGIRequestHandler if args.verbose else _QuietHandler
    server = make_server(args.host, args.port, app, threaded=True, request_handler=handler)
    url = f"http://{args.host}:{server.server_port}"
    if args.url_file:
        Path(args.url_file).write_text(url + "\n")
    print(json.dumps({"url": url}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
