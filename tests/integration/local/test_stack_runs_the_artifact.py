"""The local stack serves both functions from the artifact Terraform ships, not from this repository."""
from __future__ import annotations

import os
from pathlib import Path

from deploy import artifact


def _process(state_dir: Path, name: str) -> tuple[Path, list[str], dict[str, str]]:
    """A running server's working directory, command line and environment (from /proc)."""
    group = int((state_dir / f"{name}.pid").read_text())
    proc = Path("/proc") / str(group)
    cmdline = (proc / "cmdline").read_bytes().split(b"\0")
    environ = dict(e.split("=", 1) for e in (proc / "environ").read_bytes().decode().split("\0") if "=" in e)
    return Path(os.readlink(proc / "cwd")), [c.decode() for c in cmdline if c], environ


def test_both_functions_run_from_the_unpacked_artifact_in_a_virtualenv_of_their_own(stack):
    state_dir = Path(stack["STATE_DIR"])
    source = state_dir / "artifact" / "source"
    # what was unpacked is exactly what Terraform zips
    assert sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()
                  and "__pycache__" not in p.parts) == artifact.files()
    for name, target in (("ingest", "on_object_finalized"), ("flush", "flush")):
        cwd, command, environ = _process(state_dir, name)
        assert cwd == source, name
        executable = Path(command[1] if Path(command[0]).name.startswith("python") else command[0])
        assert executable.name == "functions-framework" and executable.parent.parent.parent.name == "function-venvs"
        assert command[command.index("--target") + 1] == target
        assert command[command.index("--source") + 1] == str(source / "main.py")
        assert "PYTHONPATH" not in environ
