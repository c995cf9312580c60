"""Apply and day-2 faults found by reading the module against Google's documentation (issue 18,
part 4), each as a statement about the module: the expressions are evaluated by Terraform itself
(`terraform console`, which needs no provider) where a value decides it."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .standin import stand_in_deployment, stand_in_module
from .tfconfig import MODULE, ROOT, TF_ROOT, load

pytestmark = pytest.mark.skipif(not shutil.which("terraform"), reason="no terraform binary on PATH")

CONFIG = load(MODULE)
RESOURCES = CONFIG.resources


def evaluate(expression: str, tmp_path, **variables):
    """Terraform's value of `expression` (HCL), with `var.NAME` set from `variables`."""
    declared = "".join(f'variable "{k}" {{\n  default = {json.dumps(v)}\n}}\n' for k, v in variables.items())
    (tmp_path / "main.tf").write_text(declared)
    for _ in range(3):  # on a loaded machine `terraform console` has once exited 0 having printed nothing
        done = subprocess.run(["terraform", "console"], input=f"jsonencode({expression})", cwd=tmp_path,
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"})
        assert done.returncode == 0, done.stderr
        if done.stdout.strip():
            break
    return json.loads(json.loads(done.stdout.strip()))


def _expression(value: str) -> str:
    assert value.startswith("${") and value.endswith("}"), value
    return value[2:-1]


# -- Eventarc's deletion triggers name the ingest service --------------------------------------
SERVICE_PATH = "projects/my-gcp-project/locations/europe-west1/services/hub-import-ingest"


def test_the_deletion_triggers_name_the_ingest_service_by_its_name_not_its_resource_path(tmp_path):
    [destination] = RESOURCES["google_eventarc_trigger"]["deleted"]["destination"][0]["cloud_run_service"]
    reference = "google_cloudfunctions2_function.ingest.service_config[0].service"
    expression = _expression(destination["service"])
    assert reference in expression  # the service the function runs on, whatever Cloud Functions named it
    assert evaluate(expression.replace(reference, json.dumps(SERVICE_PATH)), tmp_path) == "hub-import-ingest"


# -- service-account ids ------------------------------------------------------------------------
ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")  # IAM's rule: 6 to 30 characters


def _account_ids(prefix: str, tmp_path) -> dict[str, str]:
    """The module's own account ids for `prefix`, evaluated by Terraform."""
    ids = _expression(CONFIG.locals["account_ids"]).replace("local.short", f"({_expression(CONFIG.locals['short'])})")
    return evaluate(ids, tmp_path, name_prefix=prefix)


def test_every_account_of_the_module_takes_its_id_from_the_one_list():
    accounts = RESOURCES["google_service_account"]
    assert {a["account_id"] for a in accounts.values()} == \
        {f"${{local.account_ids.{job}}}" for job in ("ingest", "flush", "trigger", "sched", "build", "hub", "sweep")}


def test_two_instances_whose_prefixes_share_16_characters_get_accounts_of_their_own(tmp_path):
    eu, us = (_account_ids(p, tmp_path) for p in ("hub-import-scans-eu", "hub-import-scans-us"))
    assert set(eu.values()).isdisjoint(us.values()), (eu, us)
    assert len(set(eu.values())) == len(eu) == 7
    for account in [*eu.values(), *us.values()]:
        assert ACCOUNT_ID.match(account), account


@pytest.mark.parametrize("prefix", ["abc", "hub-import", "hub-import-scans", "hub-import-cameras-21"])
def test_account_ids_are_valid_for_every_prefix_the_module_takes_and_short_ones_keep_earlier_ids(prefix, tmp_path):
    ids = _account_ids(prefix, tmp_path)
    assert all(ACCOUNT_ID.match(a) for a in ids.values()), ids
    if len(prefix) <= 16:  # the ids of the release before: an upgrade replaces no account
        assert ids["ingest"] == f"{prefix}-ingest" and ids["sched"] == f"{prefix}-sched"


def test_a_bad_account_id_stops_the_plan_naming_the_ids(tmp_path):
    [precondition] = RESOURCES["google_service_account"]["ingest"]["lifecycle"][0]["precondition"]
    condition = _expression(precondition["condition"])
    assert "local.account_ids" in condition
    good = {"ingest": "hub-import-ingest", "hub": "hub-import-hub"}
    assert evaluate(condition.replace("local.account_ids", json.dumps(good)), tmp_path) is True
    for bad in ("hub-import-scans-eu-ab-trigger-x", "ab-x", "hub-import-", "1hub-import"):
        assert evaluate(condition.replace("local.account_ids", json.dumps({**good, "x": bad})), tmp_path) is False, bad


# -- waits ------------------------------------------------------------------------------------------
def test_each_wait_is_triggered_by_what_it_waits_for_so_a_replacement_is_waited_for_again():
    waits = {**{f"module {n}": w for n, w in RESOURCES["time_sleep"].items()},
             **{f"root {n}": w for n, w in load(TF_ROOT).resources["time_sleep"].items()}}
    assert len(waits) == 4
    for name, wait in waits.items():
        assert "depends_on" not in wait, name  # an order alone would not wait again
        triggers = wait["triggers"]
        if isinstance(triggers, str):  # a for expression over a for_each resource's instances
            assert re.search(r"\b\w+ => \w+\.id\b", triggers), (name, triggers)
        else:
            assert all(re.fullmatch(r"\$\{[\w.\[\]]+(\.id)?\}", v) for v in triggers.values()), (name, triggers)
    known = RESOURCES["time_sleep"]["log_metrics_known"]["triggers"]
    assert set(known.values()) == {f"${{google_logging_metric.{m}.id}}" for m in RESOURCES["google_logging_metric"]}


# -- the Cloud Storage agent's grant, once per project in the root -----------------------------------
BEFORE = "80e9654"  # the last commit whose module made the grant itself (count = grant_gcs_agent_publisher)
TF_ENV = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
          "TF_VAR_hub_api_key": "a-key"}


def _tf(root, *args) -> str:
    done = subprocess.run(["terraform", *args, "-no-color"], cwd=root, env=TF_ENV, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    return done.stdout


def _stand_in(tree, target):
    """`tree` (a checkout: main.py, requirements.txt, hub_import/, terraform/) stood in at `target`."""
    for name in ("main.py", "requirements.txt"):
        shutil.copy(tree / name, target / name)
    shutil.rmtree(target / "hub_import", ignore_errors=True)
    shutil.copytree(tree / "hub_import", target / "hub_import", ignore=shutil.ignore_patterns("__pycache__"))
    stand_in_module(tree / "terraform", target / "terraform")
    stand_in_module(tree / "terraform" / "modules" / "hub-import", target / "terraform" / "modules" / "hub-import")
    return target / "terraform"


def test_an_upgrade_moves_the_grant_to_the_root_instead_of_revoking_it_and_destroys_nothing(tmp_path):
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE, "main.py", "requirements.txt", "hub_import",
                              "terraform"], capture_output=True, timeout=60)
    if archive.returncode != 0:
        pytest.skip(f"commit {BEFORE} is not in this checkout")
    subprocess.run(["tar", "-x", "-C", str(earlier)], input=archive.stdout, check=True, timeout=60)
    deployment = tmp_path / "deployment"
    deployment.mkdir()
    root = _stand_in(earlier, deployment)
    _tf(root, "init", "-input=false", "-backend=false")
    _tf(root, "apply", "-auto-approve", "-input=false")
    old_grant = "module.hub_import.terraform_data.google_project_iam_member__gcs_agent_publishes_events[0]"
    assert old_grant in _tf(root, "state", "list").split()

    _stand_in(ROOT, deployment)  # git pull, then terraform apply
    _tf(root, "init", "-input=false", "-backend=false")
    _tf(root, "plan", "-input=false", "-out=upgrade.plan")
    changes = json.loads(_tf(root, "show", "-json", "upgrade.plan"))["resource_changes"]
    [grant] = [c for c in changes if c["address"] == "terraform_data.google_project_iam_member__gcs_agent_publishes_events"]
    assert grant["previous_address"] == old_grant and "delete" not in grant["change"]["actions"]
    # Nothing is destroyed but the module's own look-up of the agent (a data source: nothing to destroy).
    deleted = {c["address"] for c in changes if "delete" in c["change"]["actions"]}
    assert deleted == {"module.hub_import.terraform_data.data__google_storage_project_service_account__gcs"}


# -- on a deployment Terraform applies (every Google resource stood in) -------------------------------
STORAGE_ID = 'hub_storage_id = ""'


def _deploy(tmp_path) -> "Path":
    root = stand_in_deployment(tmp_path)
    text = (root / "standin.tf").read_text()
    (root / "standin.tf").write_text(text.replace(STORAGE_ID, 'hub_storage_id = "5f0c0ffee0123456789abc01"', 1))
    _tf(root, "init", "-input=false", "-backend=false")
    _tf(root, "apply", "-auto-approve", "-input=false")
    return root


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> dict:
    """address (module resources as rtype.name) -> the stood-in resource's input, as Terraform evaluated it."""
    root = _deploy(tmp_path_factory.mktemp("deployed"))
    state = json.loads(_tf(root, "show", "-json"))
    out = {}
    for module in state["values"]["root_module"].get("child_modules", []):
        for r in module["resources"]:
            name = r["name"].removeprefix("data__")
            out[name.replace("__", ".", 1)] = r["values"]["input"]
    return out


def test_the_dashboard_writes_no_zero_tile_position_which_the_api_would_drop(deployed):
    tiles = json.loads(deployed["google_monitoring_dashboard.hub_import"]["dashboard_json"])["mosaicLayout"]["tiles"]
    assert len(tiles) == 7
    assert all(t.get("xPos", 1) != 0 and t.get("yPos", 1) != 0 for t in tiles), tiles
    positions = [(t.get("xPos", 0), t.get("yPos", 0)) for t in tiles]  # as the API reads them back
    assert positions == [((i % 2) * 24, (i // 2) * 16) for i in range(7)]


def test_the_scheduler_waits_out_the_flush_so_the_next_call_never_finds_the_one_instance_busy(deployed):
    [service] = deployed["google_cloudfunctions2_function.flush"]["service_config"]
    job = deployed["google_cloud_scheduler_job.flush"]
    assert service["max_instance_count"] == 1
    assert int(job["attempt_deadline"].rstrip("s")) > service["timeout_seconds"] == 240 + 60 + 30
    assert job["retry_config"][0]["retry_count"] == 0


@pytest.mark.parametrize("budget,hub_timeout,admitted", [
    (240, 60, True), (30, 1, True), (1440, 300, True), (1500, 60, True), (29, 60, False), (1500, 300, False),
    (1750, 10, False)])
def test_a_budget_the_scheduler_cannot_wait_out_is_refused(budget, hub_timeout, admitted, tmp_path):
    [validation] = CONFIG.variables["flush_budget_seconds"]["validation"]
    condition = _expression(validation["condition"])
    assert evaluate(condition, tmp_path, flush_budget_seconds=budget, hub_timeout_seconds=hub_timeout) is admitted
    # ... and what it admits, Cloud Scheduler takes: an attempt deadline of 30 minutes at most.
    deadline = _expression(load(MODULE).locals["scheduler_deadline_seconds"]).replace(
        "local.flush_timeout_seconds", f"({_expression(CONFIG.locals['flush_timeout_seconds'])})")
    if admitted:
        assert evaluate(deadline, tmp_path, flush_budget_seconds=budget, hub_timeout_seconds=hub_timeout) <= 1800


def test_the_scheduler_deadline_counts_the_functions_own_timeout():
    timeout = RESOURCES["google_cloudfunctions2_function"]["flush"]["service_config"][0]["timeout_seconds"]
    assert _expression(timeout) == _expression(CONFIG.locals["flush_timeout_seconds"])


def test_destroy_goes_without_the_key_and_apply_without_it_is_refused(tmp_path):
    root = _deploy(tmp_path)
    without = {k: v for k, v in TF_ENV.items() if k != "TF_VAR_hub_api_key"}
    done = subprocess.run(["terraform", "destroy", "-auto-approve", "-input=false", "-no-color"], cwd=root, env=without,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert _tf(root, "state", "list").split() == []
    # The stand-ins drop lifecycle blocks; the module's own precondition is what refuses an apply.
    [precondition] = RESOURCES["google_secret_manager_secret_version"]["hub_api_key"]["lifecycle"][0]["precondition"]
    assert _expression(precondition["condition"]) == "var.hub_api_key != null"
    assert "TF_VAR_hub_api_key" in precondition["error_message"]


def test_both_buckets_are_destroyed_with_their_objects_only_when_asked():
    assert CONFIG.variables["force_destroy"]["default"] is False
    for bucket in ("landing", "state"):
        assert RESOURCES["google_storage_bucket"][bucket]["force_destroy"] == "${var.force_destroy}", bucket


def test_noncurrent_versions_of_the_landing_bucket_are_deleted_after_the_days_asked(deployed):
    rules = RESOURCES["google_storage_bucket"]["landing"]["lifecycle_rule"]
    conditions = [r["condition"][0] for r in rules if r["action"][0]["type"] == "Delete"]
    assert conditions == [{"days_since_noncurrent_time": "${var.landing_noncurrent_days}", "with_state": "ARCHIVED"}]
    assert CONFIG.variables["landing_noncurrent_days"]["default"] == 30
    [rule] = deployed["google_storage_bucket.landing"]["lifecycle_rule"]
    assert rule["condition"][0]["days_since_noncurrent_time"] == 30


# -- organization policies --------------------------------------------------------------------------
def _replication(tmp_path, **variables) -> dict:
    """Which replication blocks the key's secret gets, and the replicas' locations, as Terraform decides."""
    [replication] = RESOURCES["google_secret_manager_secret"]["hub_api_key"]["replication"]
    dynamic = {name: body for d in replication["dynamic"] for name, body in d.items()}
    values = {"region": "europe-west1", "secret_replication": "user_managed", "secret_locations": None, **variables}
    out = {}
    for name in ("user_managed", "auto"):
        if evaluate(_expression(dynamic[name]["for_each"]), tmp_path, **values):
            out[name] = None
    if "user_managed" in out:
        [content] = dynamic["user_managed"]["content"]
        replicas = content["dynamic"][0]["replicas"]
        assert replicas["content"] == [{"location": "${replicas.value}"}]
        out["user_managed"] = evaluate(_expression(replicas["for_each"]), tmp_path, **values)
    return out


def test_the_key_stays_in_the_functions_region_unless_asked_so_resource_locations_policies_admit_it(tmp_path):
    assert CONFIG.variables["secret_replication"]["default"] == "user_managed"
    assert _replication(tmp_path) == {"user_managed": ["europe-west1"]}
    assert _replication(tmp_path, secret_locations=["europe-west1", "europe-west4"]) == \
        {"user_managed": ["europe-west1", "europe-west4"]}
    assert _replication(tmp_path, secret_replication="auto") == {"auto": None}


@pytest.mark.parametrize("variable,value,admitted", [
    ("secret_replication", "auto", True), ("secret_replication", "global", False),
    ("secret_locations", ["europe-west1"], True), ("secret_locations", [], False), ("secret_locations", ["EU"], False),
    ("flush_ingress", "ALLOW_INTERNAL_ONLY", True), ("flush_ingress", "ALLOW_INTERNAL_AND_GCLB", True),
    ("flush_ingress", "ALLOW_ALL", True), ("flush_ingress", "internal", False),
])
def test_the_new_variables_take_only_what_google_accepts(variable, value, admitted, tmp_path):
    [validation] = CONFIG.variables[variable]["validation"]
    assert evaluate(_expression(validation["condition"]), tmp_path, **{variable: value}) is admitted


def test_the_flush_ingress_is_the_variable_and_the_readme_says_what_each_value_means_for_the_scheduler():
    [service] = RESOURCES["google_cloudfunctions2_function"]["flush"]["service_config"]
    assert service["ingress_settings"] == "${var.flush_ingress}"
    assert CONFIG.variables["flush_ingress"]["default"] == "ALLOW_ALL"
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Enterprise organizations"):]
    section = section[:section.index("\n## ")]
    for value in ("ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"):
        assert f"`{value}`" in section, value
    assert "Cloud Scheduler" in section


def test_a_landing_bucket_of_another_project_stops_the_plan_with_the_reason(tmp_path):
    [postcondition] = CONFIG.data["google_storage_bucket"]["landing"]["lifecycle"][0]["postcondition"]
    condition = _expression(postcondition["condition"])
    assert "Eventarc" in postcondition["error_message"] and "another project" in postcondition["error_message"]
    for bucket_project, project, same in ((123456789012, "123456789012", True), (98765, "123456789012", False)):
        filled = condition.replace("self.project_number", str(bucket_project)).replace(
            "data.google_project.this.number", json.dumps(project))
        assert evaluate(filled, tmp_path) is same


def test_check_is_told_how_many_channels_the_alerts_go_to(deployed):
    assert CONFIG.locals["function_env"]["ALERT_CHANNELS"] == \
        "${tostring(length(var.notification_channels) + length(var.alert_emails))}"
    # terraform/main.tf as shipped names none: check will warn until alert_emails is filled in.
    [flush] = deployed["google_cloudfunctions2_function.flush"]["service_config"]
    assert flush["environment_variables"]["ALERT_CHANNELS"] == "0"
