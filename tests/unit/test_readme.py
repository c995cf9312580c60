"""The README stays true: every setting, command and make target it must show, it shows."""
from __future__ import annotations

import re
from pathlib import Path

from hub_import.core.settings import ENV
from hub_import.ops.cli import parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented():
    missing = [name for name in ENV if f"`{name}`" not in README]
    assert not missing


def test_every_cli_command_is_documented():
    commands = parser()._subparsers._group_actions[0].choices
    assert all(f"hub-import {c}" in README for c in commands)


def test_it_says_how_to_install_the_command_the_outputs_run():
    [script] = re.findall(r"^\[project\.scripts\]\n([\w-]+)\s*=", (ROOT / "pyproject.toml").read_text(), re.M)
    operate = README[README.index("## Operate"):]
    assert "python3 -m venv ~/.hub-import && ~/.hub-import/bin/pip install ." in operate
    assert f"ln -s ~/.hub-import/bin/{script} " in operate and f"{script} --version" in operate


def test_every_terraform_output_it_names_exists_in_the_root():
    outputs = set(re.findall(r'^output "(\w+)"', (ROOT / "terraform" / "outputs.tf").read_text(), re.M))
    named = set(re.findall(r"terraform output (?:-\w+ )*(\w+)", README))
    named |= {n for phrase in re.findall(r"\boutputs? ((?:`\w+`(?:,? (?:and )?)?)+)", README)
              for n in re.findall(r"`(\w+)`", phrase)}
    assert {"ingest_function_uri", "flush_function_uri", "results_topic", "check_command"} <= named
    assert named <= outputs, f"the README names outputs the root does not have: {sorted(named - outputs)}"


def test_the_make_targets_it_shows_exist():
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"^make (\w+)", README, re.M)):
        assert re.search(rf"^{target}:", makefile, re.M), target


def test_every_terraform_setting_the_deploy_section_names_exists():
    variables = "\n".join(p.read_text() for p in (ROOT / "terraform").rglob("*.tf"))
    deploy = README[README.index("## Deploy\n"):README.index("## Configure")]
    # a provider argument; a log field; a resource type; a field of the flush's summary (Security)
    not_settings = {"secret_data_wo", "hub_unavailable", "terraform_data", "batch_calls"}
    named = set(re.findall(r"`([a-z]+(?:_[a-z]+)+)`", deploy)) - not_settings
    assert len(named) > 5
    for name in named:
        assert re.search(rf'^\s*(variable|output|check) "{name}"', variables, re.M), name
