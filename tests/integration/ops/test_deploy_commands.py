"""The commands the deployment's outputs print work as the README runs them: `cd terraform`, then
`eval "$(terraform output -raw check_command)"` (and backfill_command), in a shell whose PATH has
the `hub-import` command that `pip install .` made, and nothing of the repository's.

The outputs' values are Terraform's own: terraform/ (the root as a user fills it in, and its
module) is applied with every provider resource stood in (tests/terraform/standin.py), with the
root's values pointed at a fresh deployment on the local stack (project, buckets, name_prefix,
the storage integration's id); what that apply would create on GCP, the test creates in the
emulators and the Hub stand-in, named as the printed settings name it. One substitution is made
in the printed text: the Hub's address (a variable that must be https://, and the stand-in is
http://127.0.0.1). The shell brings what the README says it brings: HUB_API_KEY, and the way to
Google (here the emulators' addresses, on GCP the application-default credentials).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import uuid

import pytest
import requests

from hub_import.core.clients import publisher_client, storage_client, subscriber_client
from hub_import.core.messages import decode_message
from hub_import.hub import HubClient
from tests.installed_cli import COMMAND, CliMissing, installed
from tests.integration.conftest import pull_until
from tests.terraform.standin import stand_in_deployment
from tests.terraform.tfconfig import TF_ROOT

pytestmark = pytest.mark.skipif(not shutil.which("terraform"), reason="no terraform binary on PATH")

TF_ENV = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
          "TF_VAR_hub_api_key": "not-the-key"}  # the stand-in stores nothing of it; the CLI never sees it
# What terraform/main.tf names in the Hub, made there as a user would before deploying.
HUB_PROJECTS = {"64f0c0ffee0123456789abcd": ["incoming", "night"], "64f0c0ffee0123456789abce": ["incoming"]}


def tf(root, *args) -> str:
    done = subprocess.run(["terraform", *args, "-no-color"], cwd=root, env=TF_ENV, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def deployment(stack, tmp_path_factory):
    """terraform/ applied for a deployment of its own on the local stack; its printed commands, and
    its settings as they print them."""
    try:
        command = installed()
    except CliMissing as exc:
        pytest.fail(f"the hub-import command could not be installed: {exc}", pytrace=False)
    run = uuid.uuid4().hex[:8]
    prefix, storage_id = f"cli-{run}", f"cli-{run}-storage"
    root = stand_in_deployment(tmp_path_factory.mktemp("deployment"))
    text = (root / "standin.tf").read_text()
    for pattern, new in {r'"my-gcp-project"': f'"{stack["GOOGLE_CLOUD_PROJECT"]}"',
                         r'"my-team-labeling-inbox"': f'"{prefix}-landing"',
                         r'"my-team-labeling-inbox-state"': f'"{prefix}-state"',
                         r'hub_storage_id\s*=\s*"[^"]*"': f'hub_storage_id = "{storage_id}"',
                         r'(source\s*=\s*"\./modules/hub-import"\n)': rf'\1  name_prefix = "{prefix}"\n'}.items():
        text, n = re.subn(pattern, new, text)
        assert n == 1, f"terraform/main.tf no longer holds {pattern}"
    (root / "standin.tf").write_text(text)
    tf(root, "init", "-input=false", "-backend=false")
    tf(root, "apply", "-auto-approve", "-input=false")
    printed = {name: tf(root, "output", "-raw", name) for name in ("check_command", "backfill_command")}

    # What the apply would have made: buckets, topics, the subscription; and, in the Hub, the
    # storage integration on the landing bucket and the projects and batches main.tf names.
    settings = dict(word.split("=", 1) for word in shlex.split(printed["check_command"])[1:] if "=" in word)
    project = settings["GOOGLE_CLOUD_PROJECT"]
    for bucket in (settings["LANDING_BUCKET"], settings["STATE_BUCKET"]):
        storage_client().create_bucket(bucket)
    for topic in (settings["PUBSUB_TOPIC"], settings["DEAD_LETTER_TOPIC"], settings["RESULTS_TOPIC"]):
        publisher_client().create_topic(name=f"projects/{project}/topics/{topic}")
    subscriber_client().create_subscription(name=f"projects/{project}/subscriptions/{settings['PUBSUB_SUBSCRIPTION']}",
                                            topic=f"projects/{project}/topics/{settings['PUBSUB_TOPIC']}")
    hub = stack["HUB_API_URL"]
    requests.post(f"{hub}/_admin/storages", json={"_id": storage_id, "bucket": settings["LANDING_BUCKET"]},
                  timeout=10).raise_for_status()
    for hub_project, batches in HUB_PROJECTS.items():
        requests.post(f"{hub}/_admin/projects", json={"_id": hub_project}, timeout=10).raise_for_status()
        HubClient(hub, stack["HUB_API_KEY"], requests_per_minute=0).batch_ids(hub_project, batches, create=True)

    # The Hub's address is the one value the local stack cannot take as printed.
    for name, value in (("HUB_API_URL", hub), ("HUB_ALLOW_HTTP", "true")):
        for output, text in printed.items():
            text, n = re.subn(rf"(?<= ){name}='[^']*'", f"{name}={shlex.quote(value)}", text)
            assert n == 1, (output, name)
            printed[output] = text
    # The user's PATH: the installed command (as `pip install .` into a virtualenv, then a link
    # on the PATH, or pipx, leaves it), the system's tools, and no virtualenv's python.
    path = tmp_path_factory.mktemp("bin")
    (path / COMMAND).symlink_to(command)
    shell = {"PATH": f"{path}:/usr/bin:/bin", "HOME": str(tmp_path_factory.mktemp("home")),
             "HUB_API_KEY": stack["HUB_API_KEY"], "PUBSUB_EMULATOR_HOST": stack["PUBSUB_EMULATOR_HOST"],
             "STORAGE_EMULATOR_HOST": stack["STORAGE_EMULATOR_HOST"]}
    return {"printed": printed, "settings": settings, "shell": shell}


def run_printed(deployment, output: str) -> subprocess.CompletedProcess:
    """`eval "$(terraform output -raw OUTPUT)"` in bash, from terraform/ as the README says."""
    return subprocess.run(["bash", "-c", 'eval "$PRINTED"'], cwd=TF_ROOT, capture_output=True, text=True,
                          timeout=300, env={**deployment["shell"], "PRINTED": deployment["printed"][output]})


def test_the_printed_commands_run_the_installed_command_with_the_deployments_settings(deployment):
    for output, words in (("check_command", [COMMAND, "check"]),
                          ("backfill_command", [COMMAND, "backfill", f"gs://{deployment['settings']['LANDING_BUCKET']}"])):
        printed = shlex.split(deployment["printed"][output])
        assert printed[0] == "env" and printed[-len(words):] == words, output
        assert "HUB_API_KEY" not in deployment["printed"][output]


def test_the_printed_check_command_passes_against_the_deployment(deployment):
    done = run_printed(deployment, "check_command")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^\d+ ok, 0 failed", done.stdout, re.M), done.stdout
    landing = deployment["settings"]["LANDING_BUCKET"]
    assert f"landing bucket: gs://{landing} reachable" in done.stdout
    assert f"subscription: projects/{deployment['settings']['GOOGLE_CLOUD_PROJECT']}/subscriptions/" \
           f"{deployment['settings']['PUBSUB_SUBSCRIPTION']}" in done.stdout


def test_the_printed_backfill_command_queues_the_files_a_user_uploaded(stack, deployment):
    # GIVEN files a user put in the landing bucket before the functions could see them, some of
    # which main.tf's rules leave out (exclude_globs **/tmp/** and **/*.part; an .exe is no allowed type)
    landing = storage_client().bucket(deployment["settings"]["LANDING_BUCKET"])
    wanted = {"cameras/night/cam 1.jpg": ("64f0c0ffee0123456789abcd", ["night"]),
              "scans/übersicht.png": ("64f0c0ffee0123456789abcd", ["incoming"]),
              "reports/q3.pdf": ("64f0c0ffee0123456789abce", ["incoming"])}
    for name in [*wanted, "tmp/draft.jpg", "upload.part", "setup.exe"]:
        landing.blob(name).upload_from_string(b"\xff\xd8\xff\xe0 a file", content_type="image/jpeg")
    # WHEN the printed backfill command runs
    done = run_printed(deployment, "backfill_command")
    # THEN it queues each file the rules admit, once, to the route main.tf gives it
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 objects listed, 3 queued, 3 skipped" in done.stdout, done.stdout
    messages = [decode_message(m.data) for m in pull_until(stack, lambda m: True, 3, settle=2,
                                                           subscription=deployment["settings"]["PUBSUB_SUBSCRIPTION"])]
    assert {m.ref.name: (m.destination.project, list(m.destination.batches)) for m in messages} == wanted
    assert len(messages) == 3
