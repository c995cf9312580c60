"""Red team 4 (issue 22): `--api-key KEY`, which argparse takes for `--api-key-file KEY` (an
abbreviation it accepts), or the key given to `--api-key-file` itself, must not have the key printed
back: a path that names no file may be the key, so the refusal does not repeat it."""
from __future__ import annotations

import pytest

from hub_import.ops import cli

from tests.unit.ops.conftest import SECRET


@pytest.mark.parametrize("argv", [
    ["--api-key", SECRET, "check"],  # an abbreviation: refused before argparse reads the line
    [f"--api-key={SECRET}", "check"],
    ["--api", SECRET, "check"],
    ["--api-key-file", SECRET, "check"],  # the key where its file's path belongs
])
def test_a_key_given_where_the_key_files_path_belongs_is_not_printed_back(env, capsys, monkeypatch, argv):
    ran = []
    monkeypatch.setattr(cli, "cmd_check", lambda settings, args: ran.append(settings) or 0)
    # WHEN the key is given in place of a key file's path
    code = cli.main(argv)
    # THEN the run stops, says what to give instead, and prints no part of the key
    out = capsys.readouterr()
    assert code == 2 and not ran
    assert "--api-key-file" in out.err
    assert "cannot read" in out.err if argv[0] == "--api-key-file" else "in full" in out.err
    assert SECRET[:8] not in out.out + out.err
