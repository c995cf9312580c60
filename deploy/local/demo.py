"""`make demo`: the whole product on this machine, from files landing to assets in the Hub.

Starts the local stack (with the scheduler calling the flush function every 2 seconds),
uploads a small sample set made on the spot, waits until the Hub stand-in has every file that
the rules accept, prints what the Hub received and one file's whole story (`trace`), and stops
the stack.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import requests

from .processes import ROOT, StackError
from .stack import down, up

BATCH = "incoming"
TRACED = "scans/übersicht Köln #1.png"


def sample_files() -> dict[str, tuple[bytes, str]]:
    """Images of several sizes and orientations, a document, a file the rules skip, odd names."""
    sys.path.insert(0, str(ROOT))
    from deploy.local.samples import make_image

    return {
        "cameras/front door/2026-11-25 08.00.00.jpg": (make_image("JPEG", 1280, 720), "image/jpeg"),
        "cameras/phone/IMG_0001 (rotated).jpg": (make_image("JPEG", 4032 // 4, 3024 // 4, orientation=6),
                                                 "image/jpeg"),
        "cameras/phone/IMG_0002 upside-down.jpg": (make_image("JPEG", 800, 600, orientation=3), "image/jpeg"),
        "scans/übersicht Köln #1.png": (make_image("PNG", 2480 // 4, 3508 // 4), "image/png"),
        "scans/写真 100%+extra.webp": (make_image("WEBP", 512, 384), "image/webp"),
        "misc/tiny icon.gif": (make_image("GIF", 16, 16), "image/gif"),
        "docs/contract v2.pdf": (b"%PDF-1.4\n% a small document the rules accept\n", "application/pdf"),
        "tools/installer.exe": (b"MZ not for labeling", "application/octet-stream"),
    }


def main() -> int:
    state_dir = ROOT / ".local" / "demo"
    started = time.monotonic()
    try:
        env = up(state_dir, scheduler_every=2.0, settings={"HUB_BATCHES": BATCH})
    except StackError as exc:
        print(f"make demo: {exc}", file=sys.stderr)
        return 1
    try:
        return run(env, state_dir, started)
    finally:
        down(state_dir)
        print("stack stopped.")


def run(env: dict, state_dir: Path, started: float) -> int:
    import os

    os.environ.update(env)
    from hub_import.core.clients import storage_client

    print(f"stack up in {time.monotonic() - started:.1f} s (logs in {state_dir.relative_to(ROOT)}/)")
    files = sample_files()
    bucket = storage_client().bucket(env["LANDING_BUCKET"])
    for name, (data, kind) in files.items():
        bucket.blob(name).upload_from_string(data, content_type=kind)
    skipped = skips(bucket, files)
    expected = set(files) - set(skipped)
    print(f"uploaded {len(files)} files to gs://{env['LANDING_BUCKET']}/: {len(expected)} for the Hub, "
          f"{len(skipped)} the rules skip:")
    for name, reason in sorted(skipped.items()):
        print(f"  skipped {name}: {reason}")
    print("waiting for the Hub...")
    headers = {"apikey": env["HUB_API_KEY"]}
    hub = env["HUB_API_URL"]
    deadline = time.monotonic() + 90
    assets: dict[str, dict] = {}
    while time.monotonic() < deadline:
        rows = requests.get(f"{hub}/v2/project/{env['HUB_PROJECT_ID']}/assets", params={"limit": 100},
                            headers=headers, timeout=10).json()["data"]["assets"]
        assets = {a["externalId"]: a for a in rows}
        if expected <= set(assets):
            break
        time.sleep(1)
    missing = expected - set(assets)
    if missing:
        print(f"make demo: the Hub did not receive {sorted(missing)} within 90 s; see {state_dir}/*.log",
              file=sys.stderr)
        return 1
    waited = time.monotonic() - started
    time.sleep(3)  # one more scheduler round: any duplicate would show now
    rows = requests.get(f"{hub}/v2/project/{env['HUB_PROJECT_ID']}/assets", params={"limit": 100},
                        headers=headers, timeout=10).json()["data"]["assets"]
    project = requests.get(f"{hub}/v2/project/{env['HUB_PROJECT_ID']}", headers=headers,
                           timeout=10).json()["data"]["project"]
    batch_names = {b["_id"]: b["name"] for b in project["batches"]}
    manifests = manifest_of(storage_client().bucket(env["STATE_BUCKET"]))
    print()
    table = [("externalId", "data URL", "size", "batch", "manifest")]
    for a in sorted(rows, key=lambda a: a["externalId"]):
        meta = a.get("metadata") or {}
        size = f"{meta['width']}x{meta['height']}" if meta else "-"
        table.append((a["externalId"], a["data"], size, ",".join(batch_names.get(b, b) for b in a["batches"]),
                      manifests.get(a["externalId"], "?")))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    stats = requests.get(f"{hub}/_admin/stats", timeout=10).json()["requests"]
    imports = sum(stats.get("POST /v2/project/<project_id>/cloud", {}).values())
    total = sum(n for route, by in stats.items() if route.startswith(("GET /v2", "POST /v2")) for n in by.values())
    print()
    print(f"{len(rows)} assets in the Hub ({len(expected)} expected, each once: "
          f"{'yes' if len(rows) == len(expected) == len({a['externalId'] for a in rows}) else 'NO'}), "
          f"{imports} import call(s), {total} Hub calls in all, "
          f"{waited:.1f} s from start to the last asset.")
    print(f"\nWhere is one of them, and why? $ python -m hub_import trace 'gs://{env['LANDING_BUCKET']}/{TRACED}'")
    sys.stdout.flush()
    from hub_import.ops.cli import main as hub_import

    traced = hub_import(["trace", f"gs://{env['LANDING_BUCKET']}/{TRACED}"])
    return 0 if len(rows) == len(expected) and traced == 0 else 1


def skips(bucket, names) -> dict[str, str]:
    """The uploaded files the rules skip, each with its reason: what the ingest function decides of
    each (hub_import.core.decisions, with the stack's settings), asked of the object as stored."""
    from hub_import.core.decisions import decide
    from hub_import.core.objects import ObjectRef
    from hub_import.core.settings import load

    settings = load()
    decisions = {name: decide(ObjectRef.from_blob(bucket.get_blob(name)), settings) for name in names}
    return {name: d.reason for name, d in decisions.items() if d.destination is None}


def manifest_of(state_bucket) -> dict[str, str]:
    """externalId -> the manifest (in the state bucket) that carried it."""
    found = {}
    for blob in state_bucket.list_blobs(prefix="manifests/"):
        if blob.name.endswith(".state.json") or "/pending/" in blob.name:
            continue
        for asset in json.loads(blob.download_as_bytes()):
            found[asset["externalId"]] = blob.name
    return found


if __name__ == "__main__":
    sys.exit(main())
