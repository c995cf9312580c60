"""One apply deploys everything: the functions, the ingest function's Eventarc trigger, the
deletion triggers (on_delete = "delete") and the scheduler job come with the first `terraform
apply`, whatever hub_storage_id says. An empty hub_storage_id is not a cold-start error: the flush
finds the storage integration whose bucket is the landing bucket in the Hub and waits for it
(hub_import/flush/bucket_storage.py), so nothing in the module waits for a second apply."""
from __future__ import annotations

import json
import re

import pytest

from hub_import.core.settings import load as load_settings

from .tfconfig import MODULE, ROOT, TF_ROOT, load

CONFIG = load(MODULE)
RESOURCES = CONFIG.resources
README = (ROOT / "README.md").read_text()
DEPLOY = README[README.index("## Deploy\n"):README.index("## Configure")]
FUNCTIONS = {
    "google_cloudfunctions2_function.ingest", "google_cloudfunctions2_function.flush",
    "google_cloud_scheduler_job.flush",
    "google_cloud_run_service_iam_member.trigger_invokes_ingest",
    "google_cloud_run_service_iam_member.scheduler_invokes_flush",
}


def test_the_functions_trigger_and_scheduler_are_not_gated_on_the_storage_integration():
    for address in FUNCTIONS:
        rtype, name = address.split(".")
        assert "count" not in RESOURCES[rtype][name] and "for_each" not in RESOURCES[rtype][name], address
    # the finalize trigger is the ingest function's own; the deletion triggers follow on_delete alone
    assert RESOURCES["google_cloudfunctions2_function"]["ingest"]["event_trigger"]
    assert RESOURCES["google_eventarc_trigger"]["deleted"]["for_each"] == \
        '${var.on_delete == "delete" ? toset(["deleted", "archived"]) : toset([])}'
    every = json.dumps([b.raw for b in CONFIG.blocks], default=str)
    for gone in ("deploy_functions", "bare_projects", "not_deployed"):
        assert gone not in every, gone
    assert not CONFIG.of("check")  # no warning to apply again
    for named in RESOURCES.values():
        for body in named.values():
            assert "hub_storage_id" not in str(body.get("count", "")) + str(body.get("for_each", ""))


def test_the_outputs_name_the_deployed_functions():
    assert CONFIG.outputs["ingest_function_uri"]["value"] == \
        "${google_cloudfunctions2_function.ingest.service_config[0].uri}"
    assert CONFIG.outputs["flush_function_uri"]["value"] == \
        "${google_cloudfunctions2_function.flush.service_config[0].uri}"


def test_an_empty_storage_id_is_the_default_and_the_root_applies_with_one():
    storage = CONFIG.variables["hub_storage_id"]
    assert storage["default"] == "" and "validation" not in storage
    assert "finds" in storage["description"] and "override" in storage["description"]
    assert load(TF_ROOT).modules["hub_import"]["hub_storage_id"] == ""
    assert "empty: the flush finds" in (TF_ROOT / "main.tf").read_text()


def test_a_public_bucket_must_be_the_users_own_since_the_module_makes_its_own_private():
    [validation] = CONFIG.variables["hub_public_bucket"]["validation"]
    assert validation["condition"] == "${!var.hub_public_bucket || !var.create_landing_bucket}"
    assert CONFIG.resource("google_storage_bucket", "landing")["public_access_prevention"] == "enforced"


def test_the_functions_get_the_landing_bucket_the_flush_looks_the_integration_up_by():
    env = CONFIG.locals["function_env"]
    assert env["LANDING_BUCKET"] == "${local.landing_bucket}" and env["HUB_STORAGE_ID"] == "${var.hub_storage_id}"


# The settings a module call may give, as Terraform hands them to both functions: each must start.
CASES = {
    "the root as filled in": {"hub_project_id": "P", "hub_routes": [
        {"prefix": "cameras/night/", "batches": ["night"], "priority": 10}, {"glob": "**/*.pdf", "project": "Q"}]},
    "an override": {"hub_project_id": "P", "hub_storage_id": "S"},
    "a public bucket of the user's": {"hub_project_id": "P", "hub_public_bucket": True},
    "only a default route, no storage": {"hub_project_id": "P"},
    "a storage id of blanks": {"hub_project_id": "P", "hub_storage_id": "  "},
    "routes with storages of their own, no default": {"hub_routes": [
        {"prefix": "a/", "project": "A", "storage": "SA"}, {"glob": "*.pdf", "project": "B", "storage": "SB"}]},
    "one route without a storage, no default": {"hub_routes": [
        {"prefix": "a/", "project": "A", "storage": "SA"}, {"prefix": "b/", "project": "B"}]},
}


@pytest.mark.parametrize("values", CASES.values(), ids=CASES.keys())
def test_the_functions_start_with_every_storage_setting_the_first_apply_may_give(values):
    routes = [{k: r.get(k) for k in ("prefix", "glob", "project", "storage", "batches", "priority")}
              for r in values.get("hub_routes", [])]  # jsonencode keeps unset optional fields as null
    env = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "s", "LANDING_BUCKET": "my-team-labeling-inbox",
           "HUB_PROJECT_ID": values.get("hub_project_id", ""), "HUB_STORAGE_ID": values.get("hub_storage_id", ""),
           "HUB_ROUTES": json.dumps(routes), "HUB_PUBLIC_BUCKET": str(values.get("hub_public_bucket", False)).lower()}
    settings = load_settings(env)  # no ConfigError: the cold start goes through
    bare = [d for d in settings.destinations if d.storage is None]
    assert settings.discovers_storage is bool(bare and not values.get("hub_public_bucket"))


def test_the_cli_commands_carry_every_setting_of_the_functions_quoted_for_eval():
    assert CONFIG.locals["cli_env"].startswith("env ${join(")
    assert "local.function_env" in CONFIG.locals["cli_env"]
    assert CONFIG.locals["cli"] == "${local.cli_env} hub-import"
    assert CONFIG.outputs["check_command"]["value"] == "${local.cli} check"
    assert CONFIG.outputs["backfill_command"]["value"] == "${local.cli} backfill gs://${local.landing_bucket}"
    assert set(load(TF_ROOT).outputs) >= {"check_command", "backfill_command", "hub_reader_key_command"}


def test_the_readme_deploys_in_one_apply_then_the_hub_ui_with_no_backfill_step():
    steps = re.split(r"\n(?=\d\. )", DEPLOY)
    numbered = [" ".join(s.split()) for s in steps if re.match(r"\d\. ", s)]
    assert sum("terraform apply" in s for s in numbered) == 1
    [apply] = [s for s in numbered if "terraform apply" in s]
    assert "both functions" in apply and "the scheduler job" in apply and "Eventarc trigger" in apply
    [ui] = [s for s in numbered if "Organization > Storages" in s and "integration in the Hub UI" in s]
    assert "nothing to re-apply" in ui and "apply again" not in ui
    assert "backfill" not in " ".join(numbered[:numbered.index(ui) + 1])
    deploy = " ".join(DEPLOY.split())
    assert "7 days" in deploy and "waiting for a Hub storage integration for bucket B: create it in the Hub" in deploy
    assert 'eval "$(terraform output -raw check_command)"' in DEPLOY
    assert "hub-import storages" in README
