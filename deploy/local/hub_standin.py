#!/usr/bin/env python3
"""A local stand-in for Ango Hub's public API, faithful to ../shared/hub-api.md.

It is the one fake this project keeps: the Hub is a SaaS nothing here can reach. It answers
every call the project (and the official `ango` SDK) makes, with the Hub's auth, validation,
rate limit and response shapes, keeps accepted assets in a data directory so that they
survive a restart, and has switches to inject the faults the real Hub can show:

    error_rate            fraction of /v2 calls answered 500 before doing anything
    rate_429              fraction of /v2 calls answered 429 (with Retry-After) before doing anything
    latency_ms            added to every /v2 call
    outage                every /v2 call answers 503 until switched off
    drop_after_commit     fraction of imports that are stored, then the connection is dropped
                          without an answer (the client sees a reset, or a timeout when
                          drop_hang_s is set): the case that makes naive retries duplicate
    drop_hang_s           seconds to hold a dropped connection open before closing it
    rate_limit_per_minute requests a minute per API key, 0 for none (default 100)
    rate_limit_window_s   the window that limit is counted over (default 60)
    max_assets_per_request

Set them at start (--faults JSON) or at run time: POST /_admin/faults with a JSON object of
the keys to change; GET /_admin/faults shows them; GET /_admin/stats counts requests by
route and status; POST /_admin/reset-stats clears the counts; POST /_admin/storages adds a
storage integration (as a user does in the Hub UI). Nothing under /_admin needs
the API key: the stand-in only ever listens on this machine.

Run `hub_standin.py --help` for the start options. With --port 0 it takes a free port and
prints one JSON line {"url": ...} on standard output (and writes the URL to --url-file).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import secrets
import socket
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, g, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

PRIORITY_RANGE = (-1000, 1000)
MAX_PAGE_LIMIT = 100
FAULT_DEFAULTS = {
    "error_rate": 0.0,
    "rate_429": 0.0,
    "retry_after_s": 1,
    "latency_ms": 0,
    "outage": False,
    "drop_after_commit": 0.0,
    "drop_hang_s": 0.0,
    "rate_limit_per_minute": 100,
    "rate_limit_window_s": 60.0,
    "max_assets_per_request": 1000,
}
# Characters that may stand raw in a URL (RFC 3986 unreserved + reserved) and '%' for escapes.
_URL_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?[]@!$&'()*,;=%")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class ValidationError(Exception):
    """A request the Hub answers with 400; the message names the asset index and field."""


def _object_id(*parts: str) -> str:
    """A 24-hex id like the Hub's (MongoDB ObjectIds); deterministic when given parts."""
    if parts:
        return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:24]
    return secrets.token_hex(12)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_data_url(url: object) -> str | None:
    """Why `url` is not an acceptable asset `data` URL, or None when it is."""
    if not isinstance(url, str) or not url:
        return "required (an absolute https:// URL)"
    if not url.startswith("https://") or len(url) <= len("https://"):
        return "must be an absolute https:// URL"
    for ch in url:
        if ord(ch) > 127:
            return f"raw non-ASCII character {ch!r}; percent-encode it as UTF-8"
        if ch == " ":
            return "raw space; percent-encode it as %20"
        if ord(ch) < 32 or ord(ch) == 127:
            return "raw control character; percent-encode it"
        if ch == "#":
            return "raw '#'; percent-encode it as %23"
        if ch not in _URL_CHARS:
            return f"raw {ch!r} must be percent-encoded"
    if _BAD_ESCAPE.search(url):
        return "malformed percent-escape ('%' not followed by two hex digits)"
    path = url[len("https://"):].split("?", 1)[0]
    if "+" in path:
        return "raw '+' in the path; a space is %20 and a plus is %2B"
    return None


class HubState:
    """Projects, batches, storages and assets, kept in memory and in the data directory."""

    def __init__(self, data_dir: Path):
        self.lock = threading.RLock()
        self.data_dir = data_dir
        self.projects: dict[str, dict] = {}
        self.storages: dict[str, dict] = {}
        self.assets: dict[str, list[dict]] = defaultdict(list)
        self._seq = 0
        data_dir.mkdir(parents=True, exist_ok=True)
        self._load()

    # -- persistence -------------------------------------------------------------------
    @property
    def _meta_path(self) -> Path:
        return self.data_dir / "hub.json"

    @property
    def _assets_path(self) -> Path:
        return self.data_dir / "assets.jsonl"

    def _load(self) -> None:
        if self._meta_path.exists():
            meta = json.loads(self._meta_path.read_text())
            self.projects, self.storages = meta["projects"], meta["storages"]
        if self._assets_path.exists():
            with self._assets_path.open() as f:
                for line in f:
                    if line.strip():
                        asset = json.loads(line)
                        self.assets[asset["project"]].append(asset)
                        self._seq = max(self._seq, asset["_seq"])

    def _save_meta(self) -> None:
        tmp = self._meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"projects": self.projects, "storages": self.storages}, indent=1))
        tmp.replace(self._meta_path)

    # -- set-up ------------------------------------------------------------------------
    def ensure_project(self, project_id: str) -> dict:
        with self.lock:
            if project_id not in self.projects:
                self.projects[project_id] = {"_id": project_id, "name": project_id, "batches": []}
                self._save_meta()
            return self.projects[project_id]

    def ensure_storage(self, storage_id: str, bucket: str = "") -> None:
        with self.lock:
            if storage_id not in self.storages:
                self.storages[storage_id] = {"_id": storage_id, "name": storage_id, "type": "gcs",
                                             "bucket": bucket, "public": False}
                self._save_meta()

    def create_batch(self, project_id: str, name: str) -> dict:
        with self.lock:
            project = self.projects[project_id]
            for batch in project["batches"]:
                if batch["name"] == name:
                    return batch
            batch = {"_id": _object_id(project_id, name), "name": name}
            project["batches"].append(batch)
            self._save_meta()
            return batch

    # -- assets ------------------------------------------------------------------------
    def batch_id(self, project_id: str, id_or_name: object) -> str | None:
        for batch in self.projects[project_id]["batches"]:
            if id_or_name in (batch["_id"], batch["name"]):
                return batch["_id"]
        return None

    def add_assets(self, project_id: str, assets: list[dict]) -> int:
        with self.lock:
            created = _now_iso()
            lines = []
            for asset in assets:
                self._seq += 1
                record = {"_id": _object_id(), "project": project_id, "createdAt": created,
                          "_seq": self._seq, **asset}
                self.assets[project_id].append(record)
                lines.append(json.dumps(record) + "\n")
            with self._assets_path.open("a") as f:
                f.writelines(lines)
            return len(assets)


def public_asset(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("_seq", "project")}


def create_app(state: HubState, api_key: str, faults: dict | None = None, seed: int | None = None) -> Flask:
    app = Flask("hub_standin")
    app.json.sort_keys = False
    fault = dict(FAULT_DEFAULTS, **(faults or {}))
    rng = random.Random(seed)
    stats: Counter = Counter()
    window: dict[str, deque] = defaultdict(deque)
    lock = threading.Lock()

    def fail(status: int, message: str, kind: str = "fail"):
        return jsonify({"status": kind, "message": message}), status

    def roll(rate: float) -> bool:
        with lock:
            return rate > 0 and rng.random() < rate

    def over_rate_limit(key: str) -> int | None:
        """Seconds to wait when `key` has used up its window, else None (and count this call)."""
        limit, span = fault["rate_limit_per_minute"], float(fault["rate_limit_window_s"])
        if not limit:
            return None
        now = time.monotonic()
        with lock:
            calls = window[key]
            while calls and calls[0] <= now - span:
                calls.popleft()
            if len(calls) >= limit:
                return max(1, math.ceil(calls[0] + span - now))
            calls.append(now)
        return None

    @app.before_request
    def gatekeeper():
        g.t0 = time.monotonic()
        if not request.path.startswith("/v2/"):
            return None
        if fault["outage"]:
            return fail(503, "Service Unavailable", "error")
        key = request.headers.get("apikey", "")
        if not secrets.compare_digest(key, api_key):
            return fail(401, "Unauthorized: missing or invalid apikey")
        wait = over_rate_limit(key)
        if wait is None and roll(fault["rate_429"]):
            wait = int(fault["retry_after_s"])
        if wait is not None:
            body, status = fail(429, "Too many requests, rate limit exceeded")
            body.headers["Retry-After"] = str(wait)
            return body, status
        if fault["latency_ms"]:
            time.sleep(fault["latency_ms"] / 1000)
        if roll(fault["error_rate"]):
            return fail(500, "Internal Server Error", "error")
        return None

    @app.after_request
    def count(response):
        rule = request.url_rule.rule if request.url_rule else "(unmatched)"
        with lock:
            stats[(f"{request.method} {rule}", str(response.status_code))] += 1
        return response

    def project_or_404(project_id: str):
        project = state.projects.get(project_id)
        if project is None:
            return None, fail(404, f"Project {project_id} not found")
        return project, None

    # -- the import call -----------------------------------------------------------------
    @app.post("/v2/project/<project_id>/cloud")
    def import_cloud(project_id: str):
        project, error = project_or_404(project_id)
        if error:
            return error
        try:
            assets, priority = validate_import(project_id)
        except ValidationError as exc:
            return fail(400, str(exc))
        count_created = state.add_assets(project_id, [dict(a, priority=priority) for a in assets])
        if roll(fault["drop_after_commit"]):
            with lock:
                stats[("dropped after commit", "-")] += 1
            drop_connection(float(fault["drop_hang_s"]))
        return jsonify({"status": "success", "data": {"assets": {
            "assetsCreated": count_created, "tasksCreated": count_created}}}), 201

    def validate_import(project_id: str) -> tuple[list[dict], int]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ValidationError("body: must be a JSON object with an 'assets' list")
        assets = body.get("assets")
        if not isinstance(assets, list) or not assets:
            raise ValidationError("assets: must be a non-empty list")
        if len(assets) > fault["max_assets_per_request"]:
            raise ValidationError(f"assets: {len(assets)} assets exceed the maximum of "
                                  f"{fault['max_assets_per_request']} per request")
        priority = body.get("priority", 0)
        if (isinstance(priority, bool) or not isinstance(priority, (int, float))
                or not PRIORITY_RANGE[0] <= priority <= PRIORITY_RANGE[1]):
            raise ValidationError("priority: must be a number from -1000 to 1000")
        query_batches: list[str] = []
        if "batches" in request.args:
            try:
                names = json.loads(request.args["batches"])
            except ValueError:
                raise ValidationError("batches: must be a JSON array") from None
            if not isinstance(names, list):
                raise ValidationError("batches: must be a JSON array")
            for name in names:
                batch = state.batch_id(project_id, name)
                if batch is None:
                    raise ValidationError(f"batches: unknown batch {name!r}")
                query_batches.append(batch)
        problems, accepted = [], []
        for i, asset in enumerate(assets):
            problem, clean = check_asset(project_id, i, asset)
            if problem:
                problems.append(problem)
            else:
                clean["batches"] = sorted(set(clean.get("batches", [])) | set(query_batches))
                accepted.append(clean)
        if problems:
            raise ValidationError("Invalid assets: " + "; ".join(problems))
        return accepted, priority

    def check_asset(project_id: str, i: int, asset: object) -> tuple[str | None, dict]:
        where = f"assets[{i}]"
        if not isinstance(asset, dict):
            return f"{where}: must be an object", {}
        external_id = asset.get("externalId")
        if not isinstance(external_id, str) or not external_id:
            return f"{where}.externalId: required (a non-empty string)", {}
        problem = check_data_url(asset.get("data"))
        if problem:
            return f"{where}.data: {problem}", {}
        clean = {"externalId": external_id, "data": asset["data"]}
        storage = asset.get("storage")
        if storage is not None:
            if storage not in state.storages:
                return f"{where}.storage: unknown storage id {storage!r}", {}
            clean["storage"] = storage
        batches = asset.get("batches", [])
        if not isinstance(batches, list):
            return f"{where}.batches: must be a list", {}
        clean["batches"] = []
        for name in batches:
            batch = state.batch_id(project_id, name)
            if batch is None:
                return f"{where}.batches: unknown batch {name!r}", {}
            clean["batches"].append(batch)
        for field in ("metadata", "contextData"):
            if field in asset:
                if not isinstance(asset[field], dict):
                    return f"{where}.{field}: must be an object", {}
                clean[field] = asset[field]
        for dim in ("width", "height"):
            value = clean.get("metadata", {}).get(dim)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                return f"{where}.metadata.{dim}: must be a positive integer", {}
        return None, clean

    def drop_connection(hang_s: float) -> None:
        """Close the client's connection without an answer (the import is already stored)."""
        sock = request.environ.get("werkzeug.socket")
        if sock is None:
            raise RuntimeError("drop_after_commit needs the werkzeug server")
        if hang_s:
            time.sleep(hang_s)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- reads ---------------------------------------------------------------------------
    @app.get("/v2/project/<project_id>/assets")
    def list_assets(project_id: str):
        _, error = project_or_404(project_id)
        if error:
            return error
        try:
            page = max(1, int(request.args.get("page", 1)))
            limit = min(MAX_PAGE_LIMIT, max(1, int(request.args.get("limit", 10))))
            filters = json.loads(request.args.get("filters") or "{}")
        except ValueError:
            return fail(400, "page and limit must be integers; filters must be JSON")
        if not isinstance(filters, dict):
            return fail(400, "filters: must be a JSON object")
        sort = request.args.get("sort", "-createdAt")
        field = sort.lstrip("-")
        if field not in ("createdAt", "externalId", "_id"):
            return fail(400, f"sort: cannot sort by {field!r}")
        with state.lock:
            rows = [a for a in state.assets[project_id] if _matches(a, filters)]
        key = (lambda a: a["_seq"]) if field == "createdAt" else (lambda a: (a[field], a["_seq"]))
        rows.sort(key=key, reverse=sort.startswith("-"))
        chunk = rows[(page - 1) * limit: page * limit]
        return jsonify({"status": "success", "data": {
            "assets": [public_asset(a) for a in chunk], "total": len(rows)}})

    @app.get("/v2/project/<project_id>")
    def get_project(project_id: str):
        project, error = project_or_404(project_id)
        return error or jsonify({"status": "success", "data": {"project": project}})

    @app.post("/v2/batches/<project_id>")
    def create_batches(project_id: str):
        _, error = project_or_404(project_id)
        if error:
            return error
        body = request.get_json(silent=True) or {}
        # The SDK sends {"name": ...} for one batch, {"batches": [{"name": ...}, ...]} for many.
        names = [body["name"]] if isinstance(body.get("name"), str) else [
            b.get("name") for b in body.get("batches", []) if isinstance(b, dict)]
        if not names or not all(isinstance(n, str) and n for n in names):
            return fail(400, "name: required (a non-empty string)")
        created = [state.create_batch(project_id, name) for name in names]
        # As the SDK documents it: the created batch, under "project".
        return jsonify({"status": "success", "data": {"project": created[-1]}}), 201

    @app.get("/v2/storages")
    def get_storages():
        wanted = request.args.get("_id")
        storages = [s for s in state.storages.values() if wanted in (None, s["_id"])]
        return jsonify({"status": "success", "data": {"storages": storages}})

    # -- admin, outside /v2 ------------------------------------------------------------
    @app.route("/_admin/faults", methods=["GET", "POST"])
    def admin_faults():
        if request.method == "POST":
            changes = request.get_json(silent=True)
            if not isinstance(changes, dict) or set(changes) - set(FAULT_DEFAULTS):
                return fail(400, f"faults: a JSON object with keys from {sorted(FAULT_DEFAULTS)}")
            fault.update(changes)
            if not fault["rate_limit_per_minute"]:
                window.clear()
        return jsonify(fault)

    @app.post("/_admin/storages")
    def admin_storages():
        """Create a storage integration at run time: {"_id": ..., "bucket": ...}."""
        body = request.get_json(silent=True) or {}
        if not isinstance(body.get("_id"), str) or not body["_id"]:
            return fail(400, "_id: required")
        state.ensure_storage(body["_id"], str(body.get("bucket", "")))
        return jsonify(state.storages[body["_id"]]), 201

    @app.get("/_admin/stats")
    def admin_stats():
        with lock:
            by_route: dict = defaultdict(dict)
            for (route, status), n in stats.items():
                by_route[route][status] = n
        return jsonify({"requests": by_route, "total": sum(stats.values()),
                        "assets": {p: len(a) for p, a in state.assets.items()}})

    @app.post("/_admin/reset-stats")
    def admin_reset_stats():
        with lock:
            stats.clear()
            window.clear()
        return jsonify({"status": "success"})

    return app


def _matches(asset: dict, filters: dict) -> bool:
    for key, wanted in filters.items():
        if key == "batches":
            if not set(wanted if isinstance(wanted, list) else [wanted]) <= set(asset.get("batches", [])):
                return False
        elif key in ("externalId", "_id") and asset.get(key) != wanted:
            return False
    return True


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
    parser.add_argument("--faults", default="{}", help="initial fault switches, as JSON")
    parser.add_argument("--seed", type=int, help="seed for the fault switches' dice")
    parser.add_argument("--url-file", help="write the URL served to this file once listening")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("--api-key (or $HUB_API_KEY) is required")
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
    app = create_app(state, args.api_key, json.loads(args.faults), args.seed)
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
