"""The first apply on a new project works although the functions cannot start yet: without a
storage integration (and with a private bucket) both entry points refuse to start
(hub_import/core/settings.py), and the integration is made from the read-only account that apply
creates. So the module leaves out the two functions, the Eventarc trigger (the ingest function's)
and the scheduler job, with the grants on the functions' services, until it can deploy them;
everything else comes with the first apply, nothing else needs the left-out parts, and a
warning and the outputs say what to do. Whether the functions can start is decided by the same
rule as the code's, checked by evaluating the module's expression with `terraform console`
against `config.load` when a terraform binary is there."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from hub_import.core.settings import ConfigError
from hub_import.core.settings import load as load_settings

from .tfconfig import MODULE, RESOURCE_REF, ROOT, TF_ROOT, expressions, load

CONFIG = load(MODULE)
RESOURCES = CONFIG.resources
README = (ROOT / "README.md").read_text()
DEPLOY = README[README.index("## Deploy to GCP"):README.index("## Configure")]

GATE = "${local.deploy_functions ? 1 : 0}"
# What waits for the storage integration: the functions (the ingest one holds the Eventarc
# trigger), the scheduler job, and the invoker grants on the functions' Cloud Run services; and,
# with on_delete = "delete", the deletion triggers on the ingest function's service.
WAITING = {
    "google_cloudfunctions2_function.ingest", "google_cloudfunctions2_function.flush",
    "google_cloud_scheduler_job.flush",
    "google_cloud_run_service_iam_member.trigger_invokes_ingest",
    "google_cloud_run_service_iam_member.scheduler_invokes_flush",
    "google_eventarc_trigger.deleted",
}
DELETION_GATE = ('${local.deploy_functions && var.on_delete == "delete" ? toset(["deleted", "archived"]) '
                 ': toset([])}')


def _address(rtype: str, name: str) -> str:
    return f"{rtype}.{name}"


def test_without_a_storage_integration_the_functions_trigger_and_scheduler_are_not_created():
    gated = {_address(t, n) for t, named in RESOURCES.items() for n, body in named.items()
             if "deploy_functions" in str(body.get("count", "")) + str(body.get("for_each", ""))}
    assert gated == WAITING
    for address in WAITING - {"google_eventarc_trigger.deleted"}:
        rtype, name = address.split(".")
        assert RESOURCES[rtype][name]["count"] == GATE, address
    # The finalize trigger is the ingest function's own; the only Eventarc resources of their own
    # are the deletion triggers, made with the functions (and only when on_delete asks for them).
    assert RESOURCES["google_cloudfunctions2_function"]["ingest"]["event_trigger"]
    assert {t for t in RESOURCES if t.startswith("google_eventarc")} == {"google_eventarc_trigger"}
    assert set(RESOURCES["google_eventarc_trigger"]) == {"deleted"}
    assert RESOURCES["google_eventarc_trigger"]["deleted"]["for_each"] == DELETION_GATE


def test_everything_else_is_created_on_the_first_apply():
    ungated = {_address(t, n) for t, named in RESOURCES.items() for n in named} - WAITING
    for address in ungated:
        rtype, name = address.split(".")
        count = str(RESOURCES[rtype][name].get("count", ""))
        assert "deploy_functions" not in count and "hub_storage_id" not in count, address
    # What a first apply must leave behind for step 3 and for the second apply.
    for expected in ("google_project_service.apis", "google_storage_bucket.state", "google_storage_bucket.landing",
                     "google_pubsub_topic.assets", "google_pubsub_subscription.flush", "google_pubsub_topic.dead_letter",
                     "google_secret_manager_secret_version.hub_api_key", "google_service_account.hub_reader",
                     "google_storage_bucket_iam_member.hub_reads_landing", "google_service_account.build",
                     "google_artifact_registry_repository.functions", "google_storage_bucket_object.source",
                     "google_monitoring_dashboard.hub_import", "google_monitoring_alert_policy.oldest_message",
                     "google_logging_metric.dead_lettered", "time_sleep.grants_propagated"):
        assert expected in ungated, expected
    assert RESOURCES["google_pubsub_subscription"]["flush"]["dead_letter_policy"]
    assert RESOURCES["google_storage_bucket"]["landing"]["cors"]


def _refs(text: str):
    for m in RESOURCE_REF.finditer(text):
        yield f"{m.group(1) or ''}{m.group(2)}.{m.group(3)}", m.group(4)


def test_nothing_else_depends_on_them_unconditionally():
    for block in CONFIG.blocks:
        gated_block = block.address in WAITING
        depends_on = {str(d) for d in block.body.get("depends_on", [])} if block.kind == "resource" else set()
        for text in expressions(block.raw):
            for address, index in _refs(text):
                if address not in WAITING:
                    continue
                where = f"{block.file}: {block.address}: {text}"
                if text in depends_on:
                    assert gated_block, f"only what waits with them may wait for them: {where}"
                    continue
                # Terraform wants an instance of a resource with count; [0] exists only when they do.
                assert index == "[0]", where
                if gated_block:
                    continue
                assert block.kind == "output", f"only outputs may name them, guarded: {where}"
                guarded = re.fullmatch(r"\$\{local\.deploy_functions \? (.+) : local\.not_deployed\}", text)
                assert guarded and not any(a in WAITING for a, _ in _refs("${" + text.rsplit(" : ", 1)[1])), where
    # No local names them (a local is evaluated whatever the count).
    assert not any(a in WAITING for a, _ in _refs(json.dumps(CONFIG.locals)))


def test_the_outputs_say_plainly_that_the_functions_are_not_deployed_yet():
    message = CONFIG.locals["not_deployed"]
    assert message.startswith("not deployed yet") and "hub_storage_id" in message and "Deploy step 3" in message
    for name in ("ingest_function_uri", "flush_function_uri"):
        value = CONFIG.outputs[name]["value"]
        assert value.startswith("${local.deploy_functions ? ") and value.endswith(" : local.not_deployed}"), name


def test_a_check_warns_on_the_first_apply_that_the_functions_wait_for_the_storage_id():
    checks = {b.labels[0]: b.body for b in CONFIG.of("check")}
    [(name, body)] = checks.items()
    [assertion] = body["assert"]
    assert assertion["condition"] == "${local.deploy_functions}"
    message = assertion["error_message"]
    for words in ("not deployed yet", "hub_storage_id", "hub_public_bucket", "backfill", "Deploy step 3",
                  "hub_reader_key_command", "local.bare_projects"):
        assert words in message, words
    assert f"check `{name}`" in DEPLOY


def test_nothing_forbids_an_empty_storage_id_and_the_root_applies_first_with_one():
    storage = CONFIG.variables["hub_storage_id"]
    assert storage["default"] == "" and "validation" not in storage
    assert load(TF_ROOT).modules["hub_import"]["hub_storage_id"] == ""


def test_a_public_bucket_must_be_the_users_own_since_the_module_makes_its_own_private():
    [validation] = CONFIG.variables["hub_public_bucket"]["validation"]
    assert validation["condition"] == "${!var.hub_public_bucket || !var.create_landing_bucket}"
    assert CONFIG.resource("google_storage_bucket", "landing")["public_access_prevention"] == "enforced"


def test_the_cli_commands_carry_every_setting_of_the_functions_quoted_for_eval():
    assert CONFIG.locals["cli_env"].startswith("env ${join(")
    assert "local.function_env" in CONFIG.locals["cli_env"]
    assert CONFIG.outputs["check_command"]["value"] == "${local.cli_env} python -m hub_import check"
    assert CONFIG.outputs["backfill_command"]["value"] == \
        "${local.cli_env} python -m hub_import backfill gs://${local.landing_bucket}"
    assert set(load(TF_ROOT).outputs) >= {"check_command", "backfill_command", "hub_reader_key_command"}


def test_the_readme_deploys_in_two_applies_and_backfills_what_landed_between():
    steps = re.split(r"\n(?=\d\. )", DEPLOY)
    [second] = [s for s in steps if s.startswith("2. ")]
    [third] = [s for s in steps if s.startswith("3. ")]
    assert "Not yet the two functions, the Eventarc trigger and the scheduler" in second
    assert "read-only account" in second and "`hub_public_bucket = true`" in second
    assert "apply again" in third and "deploys both functions" in third
    assert "the Eventarc trigger and the scheduler job" in third
    assert "python -m hub_import backfill gs://BUCKET" in third
    assert 'eval "$(terraform output -raw backfill_command)"' in third
    assert "python -m hub_import backfill gs://BUCKET" in README[README.index("## Operate"):]
    assert 'eval "$(terraform output -raw check_command)"' in DEPLOY


# -- the rule, evaluated by Terraform and compared with the code's ----------------------------
TERRAFORM = shutil.which("terraform")
SETTINGS = ("hub_project_id", "hub_storage_id", "hub_public_bucket", "hub_routes", "create_landing_bucket")


def _block(text: str, kind: str, name: str) -> str:
    m = re.search(rf'^{kind} "{name}" \{{.*?^\}}\n', text, re.M | re.S)
    assert m, (kind, name)
    return m.group(0)


def _rule_config() -> str:
    """The module's variables the rule reads and its locals that make it, copied verbatim."""
    sources = "".join(p.read_text() for p in sorted(MODULE.glob("*.tf")))
    variables = "".join(_block(sources, "variable", v) for v in SETTINGS)
    functions = (MODULE / "functions.tf").read_text()
    rule = re.search(r"^  destinations = .*?^  deploy_functions = [^\n]+\n", functions, re.M | re.S).group(0)
    return f"{variables}\nlocals {{\n{rule}}}\n"


def _terraform(tmp_path, values: dict) -> dict:
    (tmp_path / "rule.tf").write_text(_rule_config())
    (tmp_path / "case.tfvars.json").write_text(json.dumps(values))
    done = subprocess.run([TERRAFORM, "console", "-var-file=case.tfvars.json"], cwd=tmp_path,
                          input="jsonencode({deploy = local.deploy_functions, bare = local.bare_projects})\n",
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1"})
    assert done.returncode == 0, done.stderr
    return json.loads(json.loads(done.stdout))


def _code(values: dict) -> tuple[bool, set[str]]:
    """Whether the functions start with these settings (as Terraform sets them), and the projects
    the code names as lacking a storage integration."""
    routes = [{k: r.get(k) for k in ("prefix", "glob", "project", "storage", "batches", "priority")}
              for r in values.get("hub_routes", [])]  # jsonencode keeps unset optional fields as null
    env = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "s", "HUB_PROJECT_ID": values.get("hub_project_id", ""),
           "HUB_STORAGE_ID": values.get("hub_storage_id", ""), "HUB_ROUTES": json.dumps(routes),
           "HUB_PUBLIC_BUCKET": str(values.get("hub_public_bucket", False)).lower()}
    try:
        load_settings(env)
    except ConfigError as exc:
        assert str(exc).startswith("HUB_STORAGE_ID: empty"), exc
        return False, set(re.search(r"\(project ([^)]*)\)", str(exc)).group(1).split(", "))
    return True, set()


CASES = {
    "the root's first apply": {"hub_project_id": "P", "hub_routes": [
        {"prefix": "cameras/night/", "batches": ["night"], "priority": 10}, {"glob": "**/*.pdf", "project": "Q"}]},
    "the root's second apply": {"hub_project_id": "P", "hub_storage_id": "S", "hub_routes": [
        {"prefix": "cameras/night/", "batches": ["night"], "priority": 10}, {"glob": "**/*.pdf", "project": "Q"}]},
    "a public bucket of the user's": {"hub_project_id": "P", "hub_public_bucket": True, "create_landing_bucket": False},
    "only a default route, no storage": {"hub_project_id": "P"},
    "a storage id of blanks": {"hub_project_id": "P", "hub_storage_id": "  "},
    "routes with storages of their own, no default": {"hub_routes": [
        {"prefix": "a/", "project": "A", "storage": "SA"}, {"glob": "*.pdf", "project": "B", "storage": "SB"}]},
    "a blank default project and routes with storages": {"hub_project_id": "  ", "hub_routes": [
        {"prefix": "a/", "project": "A", "storage": "SA"}]},
    "one route without a storage, no default": {"hub_routes": [
        {"prefix": "a/", "project": "A", "storage": "SA"}, {"prefix": "b/", "project": "B"}]},
    "a route that empties the storage": {"hub_project_id": "P", "hub_storage_id": "S", "hub_routes": [
        {"prefix": "a/", "project": "A", "storage": ""}]},
}


@pytest.mark.skipif(not TERRAFORM, reason="no terraform binary on PATH")
@pytest.mark.parametrize("values", CASES.values(), ids=CASES.keys())
def test_the_module_deploys_the_functions_exactly_when_the_code_would_start(tmp_path, values):
    terraform = _terraform(tmp_path, values)
    deploy, bare = _code(values)
    assert terraform["deploy"] is deploy
    assert set(terraform["bare"]) == bare


def test_the_cases_cover_both_outcomes_and_the_deploy_steps():
    outcomes = {name: _code(values)[0] for name, values in CASES.items()}
    assert outcomes["the root's first apply"] is False and outcomes["the root's second apply"] is True
    assert outcomes["a public bucket of the user's"] is True
    assert set(outcomes.values()) == {True, False}
