"""The README's one apply, run by Terraform for real on terraform/ as a user fills it in, with
every provider resource stood in by `terraform_data` (tests/terraform/standin.py): the first
apply goes through without a warning and creates everything, the functions, their trigger and
the scheduler job included, with hub_storage_id empty (the flush finds the integration itself);
setting it later as an override changes the functions' settings and creates or destroys nothing;
a public bucket of the user's gets everything too. The commands the outputs print run through
`eval` in bash and hand the CLI settings that `config.load` takes."""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

from hub_import.core.settings import load as load_settings

from .standin import stand_in_deployment
from .tfconfig import MODULE, load

pytestmark = pytest.mark.skipif(not shutil.which("terraform"), reason="no terraform binary on PATH")

CONFIG = load(MODULE)
FUNCTIONS = {"google_cloudfunctions2_function.ingest", "google_cloudfunctions2_function.flush",
             "google_cloud_scheduler_job.flush", "google_cloud_run_service_iam_member.trigger_invokes_ingest",
             "google_cloud_run_service_iam_member.scheduler_invokes_flush",
             # the sweep (sweep_every_minutes, 60 by default): the same source, its own job
             "google_cloudfunctions2_function.sweep", "google_cloud_scheduler_job.sweep",
             "google_cloud_run_service_iam_member.scheduler_invokes_sweep"}
DECLARED = {b.address for b in CONFIG.of("resource") + CONFIG.of("data")}
ENV = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1", "TF_VAR_hub_api_key": "a-key",
       "CHECKPOINT_DISABLE": "1"}


def _tf(root, *args, check=True) -> subprocess.CompletedProcess:
    done = subprocess.run(["terraform", *args, "-no-color"], cwd=root, env=ENV, capture_output=True, text=True,
                          timeout=120)
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    return done


def _deployment(tmp_path, **edits):
    """The stand-in deployment, with `edits` (regex -> replacement) made to the root's module call."""
    root = stand_in_deployment(tmp_path)
    text = (root / "standin.tf").read_text()
    for pattern, new in edits.items():
        text, n = re.subn(pattern, new, text)
        assert n == 1, pattern
    (root / "standin.tf").write_text(text)
    _tf(root, "init", "-input=false", "-backend=false")
    return root


def _address(instance: str) -> str:
    """module.hub_import.terraform_data.data__google_x__name[0] -> data.google_x.name"""
    name = re.sub(r"\[.*\]$", "", instance.rsplit("terraform_data.", 1)[1])
    data = name.startswith("data__")
    rtype, rname = name.removeprefix("data__").rsplit("__", 1)
    return f"{'data.' if data else ''}{rtype}.{rname}"


def _created(root) -> set[str]:
    """What the module call made (the root's own once-per-project grant aside)."""
    return {_address(line) for line in _tf(root, "state", "list").stdout.split() if line.startswith("module.hub_import.")}


def _outputs(root) -> dict:
    return json.loads(_tf(root, "output", "-json").stdout)["hub_import"]["value"]


STORAGE_ID = r'hub_storage_id = ""'
# Left out on a first apply of terraform/main.tf: the existing-bucket lookup
# (the module creates the bucket), the e-mail channels (alert_emails is empty), and the deletion
# triggers and the flush's read of the landing bucket (on_delete is ignore).
FOR_DELETIONS = {"google_eventarc_trigger.deleted", "google_storage_bucket_iam_member.flush_reads_landing"}
NOT_ASKED_FOR = {"data.google_storage_bucket.landing", "google_monitoring_notification_channel.email",
                 *FOR_DELETIONS}


def test_the_first_apply_creates_everything_with_the_storage_id_empty_and_an_override_creates_nothing(tmp_path):
    root = _deployment(tmp_path)
    first = _tf(root, "apply", "-auto-approve", "-input=false")
    assert "Warning" not in first.stdout
    assert _created(root) == DECLARED - NOT_ASKED_FOR
    assert FUNCTIONS <= _created(root)
    outputs = _outputs(root)
    assert outputs["ingest_function_uri"] and outputs["flush_function_uri"]
    assert outputs["hub_reader_key_command"].startswith("gcloud iam service-accounts keys create")

    # An override set later: the functions' settings change; nothing is created or destroyed.
    text = (root / "standin.tf").read_text()
    (root / "standin.tf").write_text(text.replace(STORAGE_ID, 'hub_storage_id = "5f0c0ffee0123456789abc01"', 1))
    _tf(root, "plan", "-input=false", "-out=second.plan")
    plan = json.loads(_tf(root, "show", "-json", "second.plan").stdout)
    actions = {}
    for change in plan["resource_changes"]:
        actions.setdefault(tuple(change["change"]["actions"]), set()).add(_address(change["address"]))
    assert set(actions) <= {("no-op",), ("update",)}, actions
    # (the stand-ins of what reads the functions' attributes update with them; Google's would not change)
    assert {"google_cloudfunctions2_function.ingest", "google_cloudfunctions2_function.flush"} \
        <= actions[("update",)] <= FUNCTIONS


def test_a_public_bucket_of_the_users_gets_everything_on_the_first_apply(tmp_path):
    root = _deployment(tmp_path, **{r'# create_landing_bucket = false[^\n]*':
                                    "create_landing_bucket = false\n  hub_public_bucket     = true"})
    done = _tf(root, "apply", "-auto-approve", "-input=false")
    assert "Warning" not in done.stdout
    assert _created(root) == DECLARED - {"google_storage_bucket.landing", "google_monitoring_notification_channel.email",
                                         *FOR_DELETIONS}
    assert _outputs(root)["ingest_function_uri"]


def _instances(root, address: str) -> set[str]:
    """The instance keys Terraform holds for the stood-in `address` (rtype.name)."""
    rtype, name = address.split(".")
    return {line.rsplit("[", 1)[1].rstrip("]").strip('"') for line in _tf(root, "state", "list").stdout.split()
            if line.split("[")[0].endswith(f"terraform_data.{rtype}__{name}")}


def test_with_on_delete_the_first_apply_makes_the_deletion_triggers_too(tmp_path):
    root = _deployment(tmp_path, **{r'# on_delete += "delete"[^\n]*': 'on_delete = "delete"'})
    _tf(root, "apply", "-auto-approve", "-input=false")
    assert _created(root) == DECLARED - NOT_ASKED_FOR | FOR_DELETIONS
    assert _instances(root, "google_eventarc_trigger.deleted") == {"deleted", "archived"}


def test_a_public_bucket_the_module_would_create_is_refused_before_anything_is_made(tmp_path):
    root = _deployment(tmp_path, **{r'# create_landing_bucket = false[^\n]*': "hub_public_bucket = true"})
    done = _tf(root, "plan", "-input=false", check=False)
    assert done.returncode != 0
    assert "the landing bucket this module creates is private" in " ".join(done.stderr.split())


def _run_printed(command: str, tmp_path) -> tuple[dict, list[str]]:
    """`eval "$(terraform output -raw NAME)"` as the README says, in bash, with `hub-import` the one
    that records the environment and arguments it is started with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "record.json"
    shim = bin_dir / "hub-import"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import json, os, sys; "
                    f"json.dump({{\"env\": dict(os.environ), \"argv\": sys.argv[1:]}}, open(\"{record}\", \"w\"))' \"$@\"\n")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "x.part").write_text("a name the globs in the settings would match")
    subprocess.run(["bash", "-c", 'eval "$COMMAND"'], cwd=tmp_path, check=True, timeout=60,
                   env={"PATH": f"{bin_dir}:/usr/bin:/bin", "COMMAND": command})
    recorded = json.loads(record.read_text())
    return recorded["env"], recorded["argv"]


def test_the_printed_commands_hand_the_cli_the_functions_settings(tmp_path):
    root = _deployment(tmp_path / "deployment", **{STORAGE_ID: 'hub_storage_id = "5f0c0ffee0123456789abc01"'})
    _tf(root, "apply", "-auto-approve", "-input=false")
    for output, argv in [("check_command", ["check"]),
                         ("backfill_command", ["backfill", "gs://my-team-labeling-inbox"])]:
        run = tmp_path / output
        run.mkdir()
        env, got = _run_printed(_tf(root, "output", "-raw", output).stdout, run)
        assert got == argv
        settings = load_settings(env)
        assert settings.state_bucket == "my-team-labeling-inbox-state"
        assert [r.glob or r.prefix for r in settings.routes] == ["cameras/night/", "**/*.pdf"]
        assert {r.destination.storage for r in settings.routes} == {"5f0c0ffee0123456789abc01"}
        assert env["EXCLUDE_GLOBS"] == "**/tmp/**,**/*.part" and "HUB_API_KEY" not in env
