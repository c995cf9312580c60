"""`audit` after deliberate deletions (ON_DELETE=delete): files whose assets the product removed
because they left the bucket are counted as deleted, not missing, and `audit` exits 0 when nothing
else is wrong; an asset gone from the Hub without a deletion of ours is still missing. The
deletions are made by the flush's own deleter (no network: a dict for the state bucket, a list of
rows for the Hub, a virtual clock). And audit's progress on a terminal needs no tqdm: the
functions' artifact, which carries ops/, does not ship it."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from hub_import.core import clock
from hub_import.core.assets import build_asset
from hub_import.core.routes import Destination
from hub_import.ops import cli
from hub_import.ops.audit import audit
from hub_import.state.manifests import SENT, ManifestStore
from tests.unit.flush.test_deletions_listing import SETTLE_S, URL, Deleting, ListingHub, VirtualClock

SETTINGS = SimpleNamespace(manifest_prefix="manifests/", ledger_prefix="ledger/", each_generation=False,
                           settle_s=SETTLE_S)
ROOT = Path(__file__).resolve().parents[3]


def five_sent_three_deleted(now) -> tuple[Deleting, ListingHub, dict]:
    """5 files imported (their sent manifest written as the flush writes it), then 3 of them left
    the bucket and the flush's deleter removed their assets."""
    hub = ListingHub()
    flush = Deleting(hub)
    refs = flush.imported([f"f{i}.jpg" for i in range(5)])
    assets = [build_asset(r, storage="st", url_template=URL.replace("landing/{name}", "{bucket}/{name}"))
              for r in refs.values()]
    ManifestStore(flush.store, "manifests/").create("manifests/2026/01/01/m1.json", Destination("proj", "st"),
                                                    assets, list(refs.values()), "f0", 0, state=SENT)
    now.sleep(10 * SETTLE_S)
    flush.delete(dict(list(refs.items())[:3]))
    assert len(hub.deleted) == 3  # the deleter did remove them
    return flush, hub, refs


def test_deliberate_deletions_are_counted_as_deleted_not_missing():
    with clock.use(VirtualClock()) as now:
        # GIVEN 5 files sent, 3 of them deleted deliberately (ON_DELETE=delete)
        flush, hub, refs = five_sent_three_deleted(now)
        # WHEN audit compares the history with the Hub
        report = audit(SETTINGS, flush.store, hub, "proj")
        # THEN the 3 are deleted, nothing is missing
        assert report.deleted == ["f0.jpg", "f1.jpg", "f2.jpg"] and report.missing == []
        assert report.to_json()["counts"]["deleted"] == 3 and report.to_json()["counts"]["missing"] == 0


def test_an_asset_removed_by_hand_is_still_missing_beside_the_deleted_ones():
    with clock.use(VirtualClock()) as now:
        # GIVEN the same, and one more asset removed in the Hub by someone else (no deletion of ours)
        flush, hub, refs = five_sent_three_deleted(now)
        hub.delete_assets("proj", hub.held("f4.jpg"))
        # WHEN audit looks
        report = audit(SETTINGS, flush.store, hub, "proj")
        # THEN that one is missing, the 3 deleted
        assert report.missing == ["f4.jpg"] and len(report.deleted) == 3


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_cli(monkeypatch, store, hub, stderr) -> tuple[int, str]:
    """`hub-import audit` over the in-memory state bucket and Hub (the GCS client, the store and the
    Hub client are the only things swapped)."""
    import hub_import.core.clients as clients
    import hub_import.flush.run as run
    import hub_import.state.store as state_store

    monkeypatch.setattr(clients, "storage_client", lambda: SimpleNamespace(bucket=lambda name: None))
    monkeypatch.setattr(state_store, "JsonStore", lambda bucket: store)
    monkeypatch.setattr(run, "hub_client", lambda settings: hub)
    monkeypatch.setattr(sys, "stderr", stderr)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    for name, value in {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing",
                        "HUB_API_KEY": "k", "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st", "ON_DELETE": "delete",
                        "HUB_SETTLE_SECONDS": str(int(SETTLE_S)), "LEDGER_PREFIX": "ledger/",
                        "MANIFEST_PREFIX": "manifests/"}.items():
        monkeypatch.setenv(name, value)
    return cli.main(["audit"]), out.getvalue()


def test_the_audit_command_says_deleted_3_and_exits_0_with_progress_on_a_terminal(monkeypatch):
    with clock.use(VirtualClock()) as now:
        flush, hub, refs = five_sent_three_deleted(now)
        hub.calls = 0
        # WHEN a person runs `audit` on a terminal, where tqdm is not installed
        monkeypatch.setitem(sys.modules, "tqdm", None)
        terminal = Terminal()
        code, out = run_cli(monkeypatch, flush.store, hub, terminal)
        # THEN it says deleted: 3, missing: 0, and exits 0
        assert code == 0, out
        assert "missing: 0, deleted: 3" in out
        # AND it told its progress on the terminal in a plain line
        assert "audit: 2 of 2 assets of proj read from the Hub" in terminal.getvalue()


def test_the_audit_command_is_silent_on_stderr_when_it_is_not_a_terminal(monkeypatch):
    with clock.use(VirtualClock()) as now:
        flush, hub, refs = five_sent_three_deleted(now)
        hub.calls = 0
        log = io.StringIO()  # a cron job's log
        code, out = run_cli(monkeypatch, flush.store, hub, log)
        assert code == 0 and "deleted: 3" in out and log.getvalue() == ""


def test_the_functions_artifact_imports_without_tqdm():
    # GIVEN every module the functions' artifact carries (ops/ too), in a Python that cannot import tqdm
    from deploy import artifact

    modules = [f.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
               for f in artifact.files() if f.startswith("hub_import/") and f.endswith(".py")]
    assert "hub_import.ops.progress" in modules and "hub_import.ops.audit" in modules
    script = ("import sys; sys.modules['tqdm'] = None\n"
              f"import importlib\nfor m in {modules!r}: importlib.import_module(m)\n"
              "print('tqdm' in sys.modules and sys.modules['tqdm'] is not None)")
    # WHEN they are imported THEN none fails and none brought tqdm in
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_audit_json_fields_and_types():
    with clock.use(VirtualClock()) as now:
        flush, hub, refs = five_sent_three_deleted(now)
        body = json.loads(json.dumps(audit(SETTINGS, flush.store, hub, "proj").to_json()))
    types = {"project": str, "sent": int, "in_hub": int, "missing": list, "deleted": list, "recent": list,
             "duplicated": dict, "unknown": int, "removed": list, "hub_calls": int, "counts": dict}
    assert {k: type(v) for k, v in body.items()} == types
    assert set(body["counts"]) == {"sent", "in_hub", "missing", "deleted", "recent", "duplicated", "unknown",
                                   "removed"}
    assert all(type(v) is int for v in body["counts"].values())


def test_with_tqdm_installed_the_terminal_shows_a_bar_that_learns_its_total():
    from hub_import.ops.progress import Progress

    terminal = Terminal()
    progress = Progress(None, terminal, unit="asset", terminal_only=True)  # the total is known after page 1
    progress.update(100, "unused", total=250)
    progress.update(250, "unused", total=250)
    progress.close()
    assert "250/250" in terminal.getvalue()
