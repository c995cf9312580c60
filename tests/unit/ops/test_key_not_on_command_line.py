"""The Hub API key never goes on a command line, and no refusal of a --set prints back what was given:
`--set HUB_API_KEY=...` (in any spelling) is refused, the key comes from the environment or from
`--api-key-file PATH`."""
from __future__ import annotations

import pytest

from hub_import.ops import cli

from tests.unit.ops.conftest import SECRET


@pytest.fixture
def seen(monkeypatch):
    """The settings each command ran with (the command itself does nothing)."""
    ran = []
    monkeypatch.setattr(cli, "cmd_check", lambda settings, args: ran.append(settings) or 0)
    return ran


@pytest.mark.parametrize("argv", [
    ["--set", f"HUB_API_KEY={SECRET}", "check"],
    [f"--set=HUB_API_KEY={SECRET}", "check"],
    ["--set", f"hub_api_key={SECRET}", "check"],
    ["--set", f"HUB_API_KEY:{SECRET}", "check"],
    ["--set", f"HUB-API-KEY {SECRET}", "check"],
    ["--set", f" Hub_Api_Key = {SECRET}", "check"],
    ["--set", "HUB_API_KEY", SECRET, "check"],  # argparse would take the key for the command and print it
    ["--se", f"HUB_API_KEY={SECRET}", "check"],  # an abbreviation argparse accepts
    ["--set", "LOG_LEVEL=DEBUG", "--set", f"HUB_API_KEY={SECRET}", "check"],
])
def test_a_set_that_names_the_key_is_refused_without_echoing_it(env, seen, capsys, argv):
    # WHEN the key is given on the command line, in whatever form
    code = cli.main(argv)
    # THEN the run stops before any command, says where the key belongs, and prints no part of it
    out = capsys.readouterr()
    assert code == 2 and not seen
    assert "never given on a command line" in out.err and "--api-key-file" in out.err
    assert SECRET not in out.out + out.err and SECRET[:8] not in out.out + out.err


@pytest.mark.parametrize("item", [f"HUB_PROJECTID={SECRET}", f"{SECRET}", f"NOT_A_SETTING:{SECRET}",
                                  f"{SECRET}=x", f"LOG_LEVEL {SECRET}"])
def test_a_malformed_set_is_refused_without_echoing_what_was_given(env, seen, capsys, item):
    code = cli.main(["--set", item, "check"])
    out = capsys.readouterr()
    assert code == 2 and not seen
    assert "expected NAME=VALUE" in out.err
    assert SECRET not in out.out + out.err and SECRET[:8] not in out.out + out.err


def test_a_mistyped_setting_name_is_answered_with_the_settings_name(env, seen, capsys):
    assert cli.main(["--set", "HUB_PROJECTID=other", "check"]) == 2
    err = capsys.readouterr().err
    assert "did you mean HUB_PROJECT_ID?" in err and "other" not in err


def test_a_set_of_another_setting_still_overrides_it(env, seen):
    assert cli.main(["--set", "HUB_PROJECT_ID=other", "check"]) == 0
    assert seen[0].default.project == "other"


def test_the_key_comes_from_the_environment(env, seen, monkeypatch):
    monkeypatch.setenv("HUB_API_KEY", SECRET)
    assert cli.main(["check"]) == 0
    assert seen[0].hub_api_key == SECRET


def test_the_key_comes_from_a_file_given_by_api_key_file(env, seen, monkeypatch, tmp_path):
    # GIVEN a key file (one line and its newline), and another key in the environment
    path = tmp_path / "hub-api-key.txt"
    path.write_text(SECRET + "\n")
    monkeypatch.setenv("HUB_API_KEY", "the-environment-s")
    # WHEN the CLI is given the file
    assert cli.main(["--api-key-file", str(path), "check"]) == 0
    # THEN the file's key is the one used
    assert seen[0].hub_api_key == SECRET


@pytest.mark.parametrize("content, said", [
    (b"", "the file is empty"),
    (b"  \n", "the file is empty"),
    (SECRET.encode() + b"\nsecond line\n", "the key alone, on one line"),
    (b"\xff\xfe" + SECRET.encode(), "not UTF-8 text"),
])
def test_an_unusable_key_file_is_refused_without_echoing_it(env, seen, capsys, tmp_path, content, said):
    path = tmp_path / "key"
    path.write_bytes(content)
    assert cli.main(["--api-key-file", str(path), "check"]) == 2 and not seen
    err = capsys.readouterr().err
    assert said in err and str(path) in err and SECRET[:8] not in err


def test_a_missing_key_file_is_named(env, seen, capsys, tmp_path):
    assert cli.main(["--api-key-file", str(tmp_path / "nope"), "check"]) == 2 and not seen
    assert "cannot read it" in capsys.readouterr().err
