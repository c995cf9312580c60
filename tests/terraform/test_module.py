"""The deployment is a reusable module: terraform/modules/hub-import holds it (no provider block,
typed and described variables, outputs), terraform/ is a root that configures the provider and
calls it, and the README's second instance for a second bucket is a valid call that collides
with the first in nothing."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from .schema_check import check
from .test_schema import schema  # noqa: F401  (the fixture)
from .tfconfig import MODULE, ROOT, TF_ROOT, load

CONFIG = load(MODULE)
README = (ROOT / "README.md").read_text()


def test_the_module_has_no_provider_block_and_declares_its_providers():
    assert CONFIG.of("provider") == []
    [terraform] = [b.body for b in CONFIG.of("terraform")]
    assert set(terraform["required_providers"][0]) == {"google", "archive", "time"}


def test_every_output_is_described():
    assert len(CONFIG.outputs) >= 10
    for name, output in CONFIG.outputs.items():
        assert output.get("description"), name


def test_each_output_of_the_root_is_the_modules_of_the_same_name_or_the_whole_module():
    root = load(TF_ROOT)
    assert {"ingest_function_uri", "flush_function_uri", "results_topic", "check_command"} <= set(root.outputs)
    for name, output in root.outputs.items():
        assert output.get("description"), name
        assert output["value"] in (f"${{module.hub_import.{name}}}", "${module.hub_import}"), name
        assert output["value"] == "${module.hub_import}" or name in CONFIG.outputs, name


def test_the_root_configures_the_provider_and_calls_the_module_and_holds_only_the_once_per_project_grant():
    root = load(TF_ROOT)
    assert [b.labels for b in root.of("provider")] == [("google",)]
    assert root.modules["hub_import"]["source"] == "./modules/hub-import"
    assert {b.address for b in root.of("resource") + root.of("data")} == {
        "google_project_service.project_grant", "time_sleep.project_apis_enabled",
        "data.google_storage_project_service_account.gcs", "google_project_iam_member.gcs_agent_publishes_events"}
    assert {b.file for b in root.of("resource") + root.of("data")} == {"project.tf"}


def test_the_default_cors_origins_are_the_hubs_and_a_variable():
    origins = CONFIG.variables["hub_origins"]
    assert origins["type"] == "${list(string)}" or origins["type"] == "list(string)"
    assert origins["default"] == ["https://imerit.ango.ai", "https://hub.ango.ai", "https://api.ango.ai"]
    [cors] = CONFIG.resource("google_storage_bucket", "landing")["cors"]
    assert cors["origin"] == "${var.hub_origins}"
    # The CORS file for an existing bucket says the same.
    assert json.loads((ROOT / "deploy" / "cors.json").read_text())[0]["origin"] == origins["default"]


NAME_ARGS = ("name", "account_id", "secret_id", "repository_id")
PREFIXED = re.compile(r"var\.name_prefix|local\.(short|account_ids|flush_name|sweep_name|metric_prefix)|var\.landing_bucket|var\.state_bucket")


def test_every_name_comes_from_the_prefix_or_the_buckets_so_two_instances_do_not_collide():
    for rtype, named in CONFIG.resources.items():
        for name, body in named.items():
            for arg in NAME_ARGS:
                if arg in body and not rtype.endswith(("_iam_member", "_bucket_object")):
                    assert PREFIXED.search(str(body[arg])), f"{rtype}.{name}.{arg} = {body[arg]}"
    dashboard = CONFIG.resource("google_monitoring_dashboard", "hub_import")["dashboard_json"]
    assert "var.name_prefix" in dashboard


def test_the_one_project_wide_grant_two_instances_share_is_the_roots_and_each_instance_waits_for_it():
    grant = load(TF_ROOT).resource("google_project_iam_member", "gcs_agent_publishes_events")
    assert (grant["role"], grant["member"]) == ("roles/pubsub.publisher",
                                                "${data.google_storage_project_service_account.gcs.member}")
    assert "count" not in grant and "for_each" not in grant  # once per project
    assert "gcs_agent_publishes_events" not in CONFIG.resources.get("google_project_iam_member", {})
    assert load(TF_ROOT).modules["hub_import"]["gcs_agent_publisher_grant"] == \
        "${google_project_iam_member.gcs_agent_publishes_events.id}"
    assert CONFIG.resource("time_sleep", "grants_propagated")["triggers"]["gcs_agent"] == "${var.gcs_agent_publisher_grant}"


def _readme_terraform_blocks() -> list[str]:
    return [b for b in re.findall(r"```hcl\n(.*?)```", README, re.S) if "module \"" in b]


def test_the_readme_shows_a_second_instance_that_is_a_valid_call(tmp_path, schema):  # noqa: F811
    [snippet] = _readme_terraform_blocks()
    copy = tmp_path / "terraform"
    shutil.copytree(TF_ROOT, copy, ignore=shutil.ignore_patterns(".terraform", "build"))
    (copy / "second.tf").write_text(snippet)
    root = load(copy)
    first, second = root.modules["hub_import"], next(m for n, m in root.modules.items() if n != "hub_import")
    assert second["source"] == first["source"]
    assert second["name_prefix"] != first.get("name_prefix", CONFIG.variables["name_prefix"]["default"])
    assert second["landing_bucket"] != first["landing_bucket"] and second["state_bucket"] != first["state_bucket"]
    assert second["gcs_agent_publisher_grant"] == first["gcs_agent_publisher_grant"]
    assert check(copy, schema).problems == []


@pytest.mark.parametrize("text", [
    'TF_VAR_hub_api_key="$(cat hub-api-key.txt)" terraform apply',
    "hub_api_key_version",
])
def test_the_readme_deploys_with_the_key_from_a_file(text):
    deploy = README[README.index("## Deploy\n"):README.index("## Configure")]
    assert text in deploy


def test_each_module_file_stays_readable():
    for path in MODULE.glob("*.tf"):
        assert len(path.read_text().splitlines()) <= 300, path.name
