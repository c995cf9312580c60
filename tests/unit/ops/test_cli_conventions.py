"""Issue 20, smaller things: the CLI follows the conventions of gcloud and kubectl. Global options go
before or after the command; a misspelt setting is refused with "did you mean"; a usage error is
one line; `flush` by hand speaks to a person; the exit codes are one scheme, shown in --help."""
from __future__ import annotations

import json
import sys

import pytest

from hub_import.flush.summary import Summary
from hub_import.ops import cli, exit_codes
from hub_import.ops.trace_report import Trace


@pytest.fixture
def seen(env, monkeypatch):
    """The settings and arguments `check` ran with (the command itself does nothing)."""
    ran = []
    monkeypatch.setattr(cli, "cmd_check", lambda settings, args: ran.append((settings, args)) or 0)
    return ran


@pytest.mark.parametrize("argv", [["--set", "HUB_PROJECT_ID=other", "check"],
                                  ["check", "--set", "HUB_PROJECT_ID=other"], ["check", "--set=HUB_PROJECT_ID=other"]])
def test_set_is_taken_before_or_after_the_command(seen, argv):
    assert cli.main(argv) == 0
    assert seen[0][0].default.project == "other"


def test_sets_before_and_after_the_command_all_count_the_last_winning(seen):
    assert cli.main(["--set", "HUB_PROJECT_ID=first", "--set", "HUB_PRIORITY=5", "check",
                     "--set", "HUB_PROJECT_ID=last", "--verbose"]) == 0
    settings, args = seen[0]
    assert settings.default.project == "last" and settings.default.priority == 5 and args.verbose


@pytest.mark.parametrize("argv", [["check", "--set", "HUB_API_KEY=sk-7f3a9c2e41b8d6aa"],
                                  ["check", "--se", "HUB_API_KEY=sk-7f3a9c2e41b8d6aa"],
                                  ["check", "--api-key", "sk-7f3a9c2e41b8d6aa"]])
def test_the_key_is_refused_after_the_command_too(seen, capsys, argv):
    assert cli.main(argv) == exit_codes.USAGE and not seen
    assert "sk-7f3a9c2e" not in capsys.readouterr().err


def test_a_misspelt_set_is_answered_with_the_setting_meant(seen, capsys):
    assert cli.main(["status", "--set", "HUB_BATCHS=x"]) == exit_codes.USAGE and not seen
    assert "did you mean HUB_BATCHES?" in capsys.readouterr().err


def test_a_misspelt_setting_in_the_environment_is_refused(seen, capsys, monkeypatch):
    monkeypatch.setenv("HUB_ROUTE", '[{"prefix": "a/", "project": "p2"}]')
    assert cli.main(["check"]) == exit_codes.USAGE and not seen
    err = capsys.readouterr().err
    assert err == "FAIL configuration: HUB_ROUTE: not a setting; did you mean HUB_ROUTES? (rename or unset it: " \
                  "a misspelt setting would be ignored)\n"


@pytest.mark.parametrize("argv", [["nosuch"], [], ["status", "--nosuch"], ["backfill"],
                                  ["backfill", "gs://b", "--workers", "0"]])
def test_a_usage_error_is_one_line_that_points_to_help(seen, capsys, argv):
    assert cli.main(argv) == exit_codes.USAGE
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("hub-import") and line.endswith("--help)")


def test_help_documents_the_exit_codes(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes (every command):" in out
    for code in (exit_codes.OK, exit_codes.PROBLEMS, exit_codes.USAGE, exit_codes.UNREACHABLE, exit_codes.INTERNAL):
        assert f"\n  {code}    " in out


def summary(**fields) -> Summary:
    return Summary(flush_id="f-1", **fields)


@pytest.fixture
def flush(env, monkeypatch):
    """`flush` whose run is the summary given; returns a setter."""
    def returns(result: Summary, tty: bool):
        monkeypatch.setattr("hub_import.flush.run.flush_once", lambda settings: result)
        monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    return returns


def test_flush_by_hand_says_what_it_did_in_a_few_lines(flush, capsys):
    flush(summary(pulled=12, sent=10, found_in_hub=1, failed=1, manifests=["m/1", "m/2"], queue_empty=True,
                  hub_calls=4, seconds=2.345), tty=True)
    assert cli.main(["flush"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("flush f-1: pulled 12, sent 10 to the Hub in 2 manifest(s), 1 already there, 0 skipped by "
                        "rule, 1 failed, 0 dead-lettered")
    assert lines[-1] == "the queue is empty (4 Hub calls in 2.3 s)" and len(lines) <= 5


def test_flush_says_so_in_one_line_when_another_holds_the_lease(flush, capsys):
    flush(summary(lease_held_by="f-0", lease_held_until="2026-05-01T18:02:31Z"), tty=True)
    assert cli.main(["flush"]) == exit_codes.OK
    assert capsys.readouterr().out == "another flush holds the lease until 18:02:31Z; nothing done\n"


@pytest.mark.parametrize("argv, tty", [(["flush", "--json"], True), (["flush"], False)])
def test_flush_answers_json_when_asked_or_not_on_a_terminal(flush, capsys, argv, tty):
    flush(summary(pulled=3, hub_unavailable="Hub unavailable until the deadline"), tty=tty)
    assert cli.main(argv) == exit_codes.OK  # it ran; what it could not do is in its summary
    out = capsys.readouterr().out
    assert out.startswith("{\n") and json.loads(out)["hub_unavailable"] and json.loads(out)["pulled"] == 3


@pytest.mark.parametrize("outcome, code", [("failed", 1), ("dead_lettered", 1), ("duplicated", 1), ("missing", 1),
                                           ("in_hub", 0), ("pending", 0), ("skipped", 0), ("not_seen", 0)])
def test_trace_exits_1_on_a_verdict_that_needs_a_person(env, monkeypatch, capsys, outcome, code):
    class Anything:
        def bucket(self, name):
            return self

    for name in ("storage_client", "subscriber_client"):
        monkeypatch.setattr(f"hub_import.core.clients.{name}", lambda: Anything())
    monkeypatch.setattr("hub_import.ops.trace.trace",
                        lambda *a, **k: Trace("gs://b/n", outcome=outcome, verdict=f"{outcome}: why"))
    assert cli.main(["trace", "gs://b/n", "--json"]) == code
    assert json.loads(capsys.readouterr().out)["outcome"] == outcome
