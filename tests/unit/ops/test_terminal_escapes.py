"""Text for humans is escaped (issue 22, part 6): an uploaded object's name, its metadata and the
Hub's messages reach the operator's terminal through `status`, `trace`, `backfill --dry-run`,
`replay`, `audit`, `storages`, `check` and the CLI's log lines. Printed raw, an ESC or C1 sequence
in them could retitle the window (OSC 0), hide or overwrite lines (CSI 2K, cursor up), or plant a
link (OSC 8); a bidi override could turn `gpj.exe` around. Every such character is shown as its
escape (\\x1b, \\u202e), and a newline inside a name or message does not make a line of its own.
(No network: the commands' parts are given what they would have read.)"""
from __future__ import annotations

import json
import logging
from argparse import Namespace
from types import SimpleNamespace

import pytest

from hub_import.core.logs import JsonFormatter
from hub_import.core.settings import load
from hub_import.core.text import for_terminal
from hub_import.ops import cli
from hub_import.ops import status as status_module
from hub_import.ops import trace as trace_module
from hub_import.ops.backfill import BackfillReport
from hub_import.ops.check import Check
from hub_import.ops.status import Status, status_table
from hub_import.ops.storages import listing_lines
from hub_import.ops.trace_report import Trace, render
from tests.unit.ops.test_storage_messages import ENV

# An object name as someone with upload rights may write it: a window title (OSC 0, ended by BEL),
# a line erased and the cursor moved up (CSI), a C1 CSI, a link (OSC 8), a right-to-left override.
NAME = ("cams/\x1b]0;owned\x07a\x1b[2K\x1b[1A\x9b31m\x1b]8;;https://evil.example\x1b\\x\x1b]8;;\x1b\\"
        "\u202egpj.exe\u200b.jpg")
URI = f"gs://landing/{NAME}"
HUB_SAID = "Hub rejected: bad data\n\x1b[32mok   Hub API key: accepted\x1b[0m"  # a forged line, in green
SETTINGS = load({**ENV, "HUB_STORAGE_ID": "st"})


def raw_controls(text: str) -> list[str]:
    """The characters in `text` that a terminal acts on or that hide or reorder text (newlines aside)."""
    return sorted({f"U+{ord(c):04X}" for c in text if c != "\n" and for_terminal(c) != c})


def test_a_hostile_name_and_hub_message_are_escaped_in_status():
    # GIVEN a failed asset with a hostile name, failed for a reason the Hub wrote, and a dead letter of it
    result = Status(failed_assets=[{"object": URI, "manifest": "manifests/m1-failed.json", "reason": HUB_SAID}],
                    dead_letters=[{"reason": HUB_SAID, "count": 1, "example": URI}], dead_letter_backlog=1)
    # WHEN status prints its table
    table = status_table(result)
    # THEN nothing in it drives the terminal; the characters are shown as escapes, and no line is forged
    assert raw_controls(table) == [], raw_controls(table)
    assert "\\x1b]0;owned\\x07" in table and "\\u202egpj.exe" in table and "\\x9b31m" in table
    assert not any(line.startswith("ok ") or "\x1b[32m" in line for line in table.split("\n"))
    assert len(table.split("\n")) == len(status_table(Status(
        failed_assets=[{"object": "a", "manifest": "m", "reason": "r"}],
        dead_letters=[{"reason": "r", "count": 1, "example": "a"}], dead_letter_backlog=1)).split("\n"))


def hostile_trace() -> Trace:
    manifest = {"path": "manifests/m1-failed.json", "state": "failed", "label": "failed", "project": "p",
                "generation": 1, "external_id": NAME, "assets": 1, "attempts": 1, "error": HUB_SAID,
                "replayed_as": None, "created_at": 1.0, "updated_at": 2.0, "uncertain_since": None,
                "not_before": 0, "lease_until": 0, "owner": "f"}
    t = Trace(URI, object=None, rules={"skipped": f"metadata hub-batches {NAME!r}", "judged_by": "the object"},
              manifests=[manifest], dead_letters=[{"reason": HUB_SAID, "generation": 1, "published": ""}],
              hub={"copies": [], "asked": [{"project": "p", "externalId": NAME, "complete": True}]})
    t.outcome, t.verdict = "failed", f"failed: {HUB_SAID}"
    return t


def test_a_hostile_name_and_hub_message_are_escaped_in_trace():
    text = render(hostile_trace())
    assert raw_controls(text) == [], raw_controls(text)
    assert text.split("\n")[0] == for_terminal(URI) and "\\u202egpj.exe" in text
    assert text.split("\n")[-1].startswith("verdict: failed: Hub rejected: bad data\\x0a\\x1b[32mok")


@pytest.fixture
def no_clients(monkeypatch):
    """The CLI's clients, never reached: each command's reading part is replaced by what it would read."""
    from hub_import.core import clients

    monkeypatch.setattr(clients, "storage_client", lambda: SimpleNamespace(bucket=lambda name: None))
    monkeypatch.setattr(clients, "subscriber_client", lambda: None)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_status_and_trace_print_nothing_that_drives_the_terminal(monkeypatch, capsys, no_clients, as_json):
    # GIVEN status and trace that find a hostile name and a hostile Hub message
    monkeypatch.setattr(status_module, "status", lambda *a, **k: Status(
        failed_assets=[{"object": URI, "manifest": "m", "reason": HUB_SAID}]))
    monkeypatch.setattr(trace_module, "trace", lambda *a, **k: hostile_trace())
    args = Namespace(since=None, json=as_json, target="gs://landing/a.jpg")
    # WHEN a person runs `status` and `trace` (text, or --json)
    cli.cmd_status(SETTINGS, args)
    cli.cmd_trace(SETTINGS, args)
    out = capsys.readouterr().out
    # THEN the output holds no character a terminal acts on; --json is JSON that says the same
    assert raw_controls(out) == [], raw_controls(out)
    if as_json:
        first, second = out.split("\n}\n", 1)
        assert json.loads(first + "}")["failed_assets"][0]["object"] == URI
        assert json.loads(second)["uri"] == URI


def test_backfill_dry_run_prints_hostile_names_and_reasons_escaped(monkeypatch, capsys, no_clients):
    # GIVEN a bucket whose objects have hostile names (one skipped for its hostile metadata)
    from hub_import.core.routes import Destination
    from hub_import.ops import backfill as backfill_module
    from hub_import.ops.backfill_plan import FilePlan

    dest = Destination("p", "st")
    report = BackfillReport(listed=2, dry_run=True)
    report.count(FilePlan(f"gs://landing/{NAME}", "new", "", dest), NAME)
    report.count(FilePlan(f"gs://landing/{NAME}", "skipped", f"metadata hub-project {NAME}"), NAME)
    monkeypatch.setattr(backfill_module, "backfill", lambda *a, **k: report)
    # WHEN a person runs backfill --dry-run
    cli.cmd_backfill(SETTINGS, Namespace(target="gs://landing", since=None, dry_run=True, workers=1, json=False))
    out = capsys.readouterr().out
    # THEN the names are shown, escaped
    assert raw_controls(out) == [], raw_controls(out)
    assert out.count("\\u202egpj.exe") == 6  # each file (2) and the reason on its line, the reason, 2 examples


def test_storages_and_check_lines_escape_what_the_hub_and_the_settings_say():
    rows = [{"_id": "s1", "type": "gcs", "bucket": "landing", "name": "\x1b]0;x\x07prod\u202e", "landing": True}]
    check = Check("Hub project p", False, f"Hub unreachable: {HUB_SAID}", hint="\x1b[2Jfix", warning=False)
    for text in listing_lines(rows) + [check.line()]:
        assert raw_controls(text) == [], text
    assert check.line().count("\n") == 1  # the fix line only


def test_a_log_line_on_the_terminal_holds_no_character_a_terminal_acts_on():
    # GIVEN a log record whose fields hold a hostile name (C1 CSI, bidi override, line separator)
    record = logging.LogRecord("hub_import.flush", logging.WARNING, __file__, 1, "skipped: %s", (NAME,), None)
    record.fields = {"object": URI, "reason": "x\u2028y\x7f"}
    # WHEN it is written as the CLI writes it (JSON, to standard error)
    line = JsonFormatter().format(record)
    # THEN it is still the same JSON, and nothing in it drives a terminal
    assert raw_controls(line) == [], raw_controls(line)
    assert json.loads(line)["object"] == URI and json.loads(line)["reason"] == "x\u2028y\x7f"
    assert "日本" in JsonFormatter().format(logging.LogRecord("x", 20, "f", 1, "日本", (), None))  # text stays text
