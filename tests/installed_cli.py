"""The `hub-import` command as a user installs it: `pip install .` into a virtualenv of its own.

The virtualenv is built once per machine in the cache (`$HUB_IMPORT_CACHE`, else
`~/.cache/gcs-to-hub`, as for the provider schema), named by a hash of pyproject.toml and the
requirements files it reads (BUILD_FILES), so that a test run pays for the dependencies only when
they change. The package itself is installed again whenever its files differ from what the
virtualenv holds. A file lock keeps parallel test workers from building it twice at once.

    python -m tests.installed_cli     # build it now; prints the command's path, or what is missing
"""
from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from deploy.artifact import cache_dir

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "hub-import"
# What `pip install .` reads besides the package: pyproject.toml and the files its dependencies
# come from (the functions' direct pins and the CLI's own; not requirements.txt, the hashed lock).
BUILD_FILES = ("pyproject.toml", "requirements.in", "requirements-cli.txt")


class CliMissing(RuntimeError):
    """The command could not be installed; the message says what failed and how to retry."""


def _digest(paths) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _package_files() -> list[Path]:
    return sorted(p for p in (ROOT / "hub_import").rglob("*.py") if "__pycache__" not in p.parts)


def _run(args: list[str], what: str, cwd: Path = ROOT) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise CliMissing(f"{what} failed ({' '.join(args)}):\n{(done.stdout + done.stderr)[-1500:]}\n"
                         f"Fix the network or the package index (pip reaches PyPI for the dependencies and for "
                         f"setuptools), then run: .venv/bin/python -m tests.installed_cli")


def installed() -> Path:
    """The path of `hub-import` in the cached virtualenv, built (`pip install .`) if missing or stale."""
    venv = cache_dir() / f"cli-{_digest([ROOT / name for name in BUILD_FILES])}"
    command = venv / "bin" / COMMAND
    stamp = venv / ".package"
    package = _digest(_package_files())
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if command.exists() and stamp.exists() and stamp.read_text() == package:
            return command
        if not (venv / "bin" / "python").exists():
            shutil.rmtree(venv, ignore_errors=True)
            _run([sys.executable, "-m", "venv", str(venv)], "creating a virtualenv (python3-venv)")
        # As the README says: pip builds the package in an isolated environment (setuptools from
        # PyPI) and installs requirements.in's and requirements-cli.txt's pins; only the package is
        # reinstalled when only it changed. From a copy of what the build reads, so that the build leaves nothing in the tree.
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "source"
            shutil.copytree(ROOT / "hub_import", source / "hub_import", ignore=shutil.ignore_patterns("__pycache__"))
            for name in BUILD_FILES:
                shutil.copyfile(ROOT / name, source / name)
            again = ["--force-reinstall", "--no-deps"] if command.exists() else []
            _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                  *again, "."], f"pip install . into {venv}", cwd=source)
        if not command.exists():
            raise CliMissing(f"pip install . succeeded but made no {command}: see [project.scripts] in pyproject.toml")
        stamp.write_text(package)
        return command


if __name__ == "__main__":
    try:
        print(installed())
    except CliMissing as exc:
        sys.exit(str(exc))
