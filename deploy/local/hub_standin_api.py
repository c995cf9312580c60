"""The Hub stand-in's /v2 calls: import from cloud storage, the asset listing, the soft-delete,
projects, batches and storages, with the shapes of ../shared/hub-api.md and the switches of the
table at the top of hub_standin.py."""
from __future__ import annotations

import json

from flask import Flask, jsonify, request

from deploy.local.hub_standin_faults import Switches, drop_connection, truncated
from deploy.local.hub_standin_store import HubState, check_data_url, matches, public_asset

PRIORITY_RANGE = (-1000, 1000)
MAX_PAGE_LIMIT = 100


class ValidationError(Exception):
    """A request the Hub answers with 400; the message names the asset index and field."""


def fail(status: int, message: str, kind: str = "fail"):
    """The Hub's error answer: `{"status": "fail" | "error", "message": ...}` with `status`."""
    return jsonify({"status": kind, "message": message}), status


def paging(default_limit: int, max_limit: int) -> tuple[int, int]:
    """`page` and `limit` of this request (ValueError when not integers); limit capped, 0 = all."""
    page = max(1, int(request.args.get("page", 1)))
    limit = int(request.args["limit"]) if "limit" in request.args else default_limit
    return page, (min(max_limit, max(1, limit)) if limit or "limit" in request.args else 0)


def add_v2_routes(app: Flask, state: HubState, switches: Switches) -> None:
    """Register the Hub's public calls on `app`; they read `switches` on every call."""

    def project_or_404(project_id: str):
        project = state.projects.get(project_id)
        if project is None:
            return None, fail(404, f"Project {project_id} not found")
        return project, None

    # -- the import call -----------------------------------------------------------------
    @app.post("/v2/project/<project_id>/cloud")
    def import_cloud(project_id: str):
        _, error = project_or_404(project_id)
        if error:
            return error
        try:
            assets, priority = validate_import(project_id)
        except ValidationError as exc:
            return fail(400, str(exc))
        records = [dict(a, priority=priority) for a in assets]
        if switches.roll("slow_commit"):
            return slow_commit(project_id, records)
        if switches.roll("short_created"):
            if switches["short_created_as"] == "status_fail":
                switches.count("short created", "status fail")
                return jsonify({"status": "fail", "message": "Assets could not be created"}), 200
            switches.count("short created", "fewer")
            records = records[: len(records) // 2]
        created = state.add_assets(project_id, records)
        if switches.roll("drop_after_commit"):
            switches.count("dropped after commit")
            drop_connection(request.environ, float(switches["drop_hang_s"]))
        body = {"status": "success", "data": {"assets": {"assetsCreated": created, "tasksCreated": created}}}
        if switches.roll("truncate_body"):
            switches.count("truncated body")
            return truncated(body, 201)
        return jsonify(body), 201

    def slow_commit(project_id: str, records: list[dict]):
        """Fail this import now and store it later: what a gateway timing out in front of a Hub
        that goes on working looks like."""
        switches.later(float(switches["slow_commit_delay_s"]), lambda: state.add_assets(project_id, records))
        how = switches["slow_commit_as"]
        if how != "504":
            drop_connection(request.environ, float(switches["slow_commit_hang_s"]) if how == "timeout" else 0)
        return fail(504, "Gateway Timeout", "error")  # after a drop, nobody reads it

    def validate_import(project_id: str) -> tuple[list[dict], int]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ValidationError("body: must be a JSON object with an 'assets' list")
        assets = body.get("assets")
        if not isinstance(assets, list) or not assets:
            raise ValidationError("assets: must be a non-empty list")
        if len(assets) > switches["max_assets_per_request"]:
            raise ValidationError(f"assets: {len(assets)} assets exceed the maximum of "
                                  f"{switches['max_assets_per_request']} per request")
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

    # -- assets: listing and soft-delete ---------------------------------------------------
    @app.get("/v2/project/<project_id>/assets")
    def list_assets(project_id: str):
        _, error = project_or_404(project_id)
        if error:
            return error
        try:
            page, limit = paging(10, int(switches["list_max_limit"]))
            filters = json.loads(request.args.get("filters") or "{}")
        except ValueError:
            return fail(400, "page and limit must be integers; filters must be JSON")
        if not isinstance(filters, dict):
            return fail(400, "filters: must be a JSON object")
        order = switches["list_order"]
        sort = request.args.get("sort", "-createdAt") if order == "honoured" else {
            "oldest_first": "createdAt", "newest_first": "-createdAt"}[order]
        field = sort.lstrip("-")
        if field not in ("createdAt", "externalId", "_id"):
            return fail(400, f"sort: cannot sort by {field!r}")
        rows = [a for a in state.indexed(project_id, float(switches["list_lag_s"]))
                if matches(a, filters, switches["external_id_filter"])]
        key = (lambda a: a["_seq"]) if field == "createdAt" else (lambda a: (a[field], a["_seq"]))
        rows.sort(key=key, reverse=sort.startswith("-"))
        chunk = rows[(page - 1) * limit: page * limit] if limit else rows
        return jsonify({"status": "success", "data": {
            "assets": [public_asset(a, switches["list_created_at"], switches["list_data"]) for a in chunk],
            "total": len(rows)}})

    @app.delete("/v2/project/<project_id>/assets")
    def delete_assets(project_id: str):
        """The SDK's delete_assets: {"project": id, "assets": [asset ids]} soft-deletes them."""
        _, error = project_or_404(project_id)
        if error:
            return error
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return fail(400, "body: must be a JSON object with an 'assets' list")
        if body.get("project", project_id) != project_id:
            return fail(400, "project: must be the project of the path")
        ids = body.get("assets")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            return fail(400, "assets: must be a non-empty list of asset ids")
        unknown = state.unknown_ids(project_id, ids)
        if unknown:  # what a client that deletes the same asset twice sends
            switches.count("soft-delete ids", "not live", len(unknown))
        if unknown and switches["delete_unknown_ids"] == "400":
            return fail(400, f"assets: unknown asset id(s) {unknown[:10]}")
        deleted = state.delete_assets(project_id, ids)
        if switches.roll("drop_after_delete"):
            switches.count("dropped after delete")
            drop_connection(request.environ, float(switches["drop_hang_s"]))
        return jsonify({"status": "success", "data": {"deletedCount": deleted}})

    # -- projects, batches, storages -------------------------------------------------------
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
        try:
            page, limit = paging(int(switches["storages_default_limit"]), int(switches["storages_max_limit"]))
        except ValueError:
            return fail(400, "page and limit must be integers")
        wanted = request.args.get("_id")
        rows = [s for s in state.list_storages(switches["storages_order"] == "newest_first")
                if wanted in (None, s["_id"])]
        chunk = rows[(page - 1) * limit: page * limit] if limit else rows
        return jsonify({"status": "success", "data": {"storages": chunk}})
