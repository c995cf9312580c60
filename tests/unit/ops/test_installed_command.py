"""`pip install .` gives the `hub-import` command: the same CLI as `python -m hub_import`, with the
one version the package defines, and only the package installed."""
from __future__ import annotations

import subprocess
import sys

import pytest

import hub_import
from tests.installed_cli import CliMissing, installed


@pytest.fixture(scope="module")
def command():
    try:
        return installed()
    except CliMissing as exc:
        pytest.fail(f"the hub-import command could not be installed: {exc}", pytrace=False)


def run(args: list[str], cwd) -> subprocess.CompletedProcess:
    # From a directory with no hub_import in it: what runs is what pip installed.
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_hub_import_and_python_m_hub_import_give_the_one_version(command, tmp_path):
    installed_python = str(command.with_name("python"))
    by_command = run([str(command), "--version"], tmp_path)
    by_module = run([installed_python, "-m", "hub_import", "--version"], tmp_path)
    in_tree = run([sys.executable, "-m", "hub_import", "--version"], hub_import.__file__.rsplit("/", 2)[0])
    assert [d.returncode for d in (by_command, by_module, in_tree)] == [0, 0, 0], by_command.stderr + by_module.stderr
    assert by_command.stdout == f"hub-import {hub_import.__version__}\n"
    assert by_module.stdout == in_tree.stdout == f"python -m hub_import {hub_import.__version__}\n"


def test_the_command_runs_the_cli_and_names_itself(command, tmp_path):
    done = run([str(command), "check"], tmp_path)  # no settings: the CLI's own configuration error
    assert done.returncode == 2 and done.stderr.startswith("FAIL configuration:"), done.stderr
    assert "usage: hub-import " in run([str(command), "--help"], tmp_path).stdout


def test_only_the_package_is_installed(command):
    script = ("import importlib.metadata as m\n"
              "print(*sorted({f.parts[0] for f in m.distribution('gcs-to-hub').files if '.dist-info' not in f.parts[0]}))")
    found = subprocess.run([str(command.with_name("python")), "-c", script], capture_output=True, text=True, timeout=60)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == ["..", "hub_import"]  # `..` holds bin/hub-import


def test_the_command_has_the_clis_own_packages_which_the_functions_do_not_get(command):
    # tqdm is in requirements-cli.txt, which pyproject.toml reads, and not in requirements.txt
    probe = "import importlib.util as u; print(u.find_spec('tqdm') is not None)"
    found = subprocess.run([str(command.with_name("python")), "-c", probe], capture_output=True, text=True, timeout=60)
    assert found.stdout.strip() == "True", found.stderr
