"""What a first `terraform apply` on a brand-new project needs, as statements about the module: the
key written with the apply and kept out of the state, the build's own account, the trigger in the
real bucket's region, every API enabled and waited for, one flush instance."""
from __future__ import annotations

import re

import pytest

from .tfconfig import MODULE, ROOT, TF_ROOT, dependencies, depends_on_transitively, expressions, load

CONFIG = load(MODULE)
RESOURCES = CONFIG.resources
GRAPH = dependencies(CONFIG)
FUNCTIONS = ("ingest", "flush")


def one(rtype: str, name: str) -> dict:
    return RESOURCES[rtype][name]


KEY = r"var\.hub_api_key\b(?!_)"


def _uses(config, pattern: str) -> list[str]:
    """The addresses of the blocks whose expressions match `pattern`."""
    return sorted({b.address for b in config.blocks if any(re.search(pattern, e) for e in expressions(b.raw))})


# -- 2. the key ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [TF_ROOT, MODULE], ids=["root", "module"])
def test_the_key_is_an_ephemeral_sensitive_variable_null_only_for_destroy(path):
    key = load(path).variables["hub_api_key"]
    assert key["ephemeral"] is True and key["sensitive"] is True
    # null by default, so that terraform destroy needs no key; creating its secret version does (test_day2).
    assert key["nullable"] is True and key["default"] is None


def test_the_key_is_the_roots_only_variable_so_nothing_else_is_set_outside_main_tf():
    assert set(load(TF_ROOT).variables) == {"hub_api_key"}


def test_the_key_goes_only_into_the_write_only_argument_of_a_secret_version():
    # (and its own validation, which says only whether it is empty)
    assert _uses(CONFIG, KEY) == ["google_secret_manager_secret_version.hub_api_key", "variable.hub_api_key"]
    version = one("google_secret_manager_secret_version", "hub_api_key")
    assert version["secret_data_wo"] == "${var.hub_api_key}"
    assert version["secret_data_wo_version"] == "${var.hub_api_key_version}"
    assert "secret_data" not in version, "secret_data would put the key in the state"
    assert "secret_data =" not in CONFIG.text.replace("secret_data_wo", "")


def test_the_root_passes_the_key_from_its_own_ephemeral_variable_and_nothing_else_reads_it():
    root = load(TF_ROOT)
    call = root.modules["hub_import"]
    assert call["hub_api_key"] == "${var.hub_api_key}" and call["hub_api_key_version"] == 1
    assert _uses(root, KEY) == ["module.hub_import"]


@pytest.mark.parametrize("path", [TF_ROOT, MODULE], ids=["root", "module"])
def test_no_output_carries_the_key(path):
    for name, output in load(path).outputs.items():
        text = " ".join(expressions(output))
        assert not re.search(KEY, text) and "secret_data" not in text and "nonsensitive" not in text, name


def test_the_flush_runs_with_the_version_terraform_wrote_so_a_rotation_deploys_a_new_revision():
    [secret] = one("google_cloudfunctions2_function", "flush")["service_config"][0]["secret_environment_variables"]
    assert secret["version"] == "${google_secret_manager_secret_version.hub_api_key.version}"
    assert "latest" not in str(secret)
    # The new version is created, and the function moved onto it, before the old one is destroyed.
    assert one("google_secret_manager_secret_version", "hub_api_key")["lifecycle"][0]["create_before_destroy"] is True


def test_the_key_version_exists_before_the_flush_function():
    assert depends_on_transitively(GRAPH, "google_cloudfunctions2_function.flush",
                                   "google_secret_manager_secret_version.hub_api_key")


def test_the_key_is_set_by_terraform_alone():
    assert not (ROOT / "deploy" / "set-api-key.sh").exists()
    assert "set-api-key" not in (ROOT / "README.md").read_text()


# -- 3. the build's account ------------------------------------------------------------------
@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_is_built_by_the_build_account_into_the_module_repository(function):
    build = one("google_cloudfunctions2_function", function)["build_config"][0]
    assert build["service_account"] == "${google_service_account.build.id}"
    assert build["docker_repository"] == "${google_artifact_registry_repository.functions.id}"


def test_the_build_account_has_the_documented_roles_each_on_the_narrowest_scope():
    member = "serviceAccount:${google_service_account.build.email}"
    grants = {(rtype, body["role"]) for rtype, named in RESOURCES.items() if rtype.endswith("_iam_member")
              for body in named.values() if body["member"] == member}
    assert grants == {
        ("google_project_iam_member", "roles/logging.logWriter"),
        ("google_artifact_registry_repository_iam_member", "roles/artifactregistry.writer"),
        ("google_project_iam_member", "roles/storage.objectAdmin"),
    }
    repo = one("google_artifact_registry_repository_iam_member", "build_pushes_images")
    assert repo["repository"] == "${google_artifact_registry_repository.functions.name}"
    sources = one("google_project_iam_member", "build_reads_sources")
    [condition] = sources["condition"]
    assert "local.source_buckets" in condition["expression"]
    assert CONFIG.locals["source_buckets"][0] == "${google_storage_bucket.source.name}"
    assert "gcf-v2-sources-" in CONFIG.locals["source_buckets"][1]


def test_the_functions_wait_until_the_build_accounts_roles_apply():
    wait = one("time_sleep", "grants_propagated")
    for grant in ("google_project_iam_member.build_writes_logs", "google_project_iam_member.build_reads_sources",
                  "google_artifact_registry_repository_iam_member.build_pushes_images"):
        assert f"${{{grant}.id}}" in wait["triggers"].values()
    for function in FUNCTIONS:
        assert "time_sleep.grants_propagated" in GRAPH[f"google_cloudfunctions2_function.{function}"]


# -- 4. region, APIs, waits -----------------------------------------------------------------
def test_an_existing_landing_bucket_gives_the_trigger_its_real_location():
    assert "data.google_storage_bucket.landing[0].location" in CONFIG.locals["landing_location"]
    trigger = one("google_cloudfunctions2_function", "ingest")["event_trigger"][0]
    assert trigger["trigger_region"] == "${lower(local.landing_location)}"
    assert CONFIG.data["google_storage_bucket"]["landing"]["count"] == "${var.create_landing_bucket ? 0 : 1}"


# The API each kind of resource calls (Cloud Build and Eventarc: the functions' build and trigger).
API_OF = {
    "google_cloudfunctions2_function": {"cloudfunctions", "run", "cloudbuild", "artifactregistry", "eventarc"},
    "google_cloud_run_service_iam_member": {"run"}, "google_cloud_scheduler_job": {"cloudscheduler"},
    "google_eventarc": {"eventarc"},
    "google_pubsub": {"pubsub"}, "google_secret_manager": {"secretmanager"}, "google_storage": {"storage"},
    "google_logging": {"logging"}, "google_monitoring": {"monitoring"}, "google_artifact_registry": {"artifactregistry"},
    "google_service_account": {"iam"}, "google_project_iam": {"cloudresourcemanager"},
    "google_project": {"cloudresourcemanager"},
}


def test_every_api_the_resources_call_is_enabled_iam_and_resource_manager_included():
    enabled = {api.removesuffix(".googleapis.com") for api in CONFIG.locals["apis"]}
    assert {"iam", "cloudresourcemanager"} <= enabled
    for rtype in list(RESOURCES) + list(CONFIG.data):
        if rtype == "google_project_service" or not rtype.startswith("google_"):
            continue
        needed = next((apis for prefix, apis in sorted(API_OF.items(), key=lambda kv: -len(kv[0]))
                       if rtype.startswith(prefix)), None)
        assert needed is not None, f"which API does {rtype} call? add it to API_OF"
        assert needed <= enabled, (rtype, needed - enabled)


def test_everything_that_calls_an_api_waits_for_the_apis():
    for address in GRAPH:
        if address == "google_project_service.apis" or not re.match(r"(data\.)?google_", address):
            continue
        assert depends_on_transitively(GRAPH, address, "time_sleep.apis_enabled"), address
    assert GRAPH["time_sleep.apis_enabled"] == {"google_project_service.apis"}


def test_the_waits_are_where_google_documents_propagation_delays():
    waits = RESOURCES["time_sleep"]
    assert set(waits) == {"apis_enabled", "grants_propagated", "log_metrics_known"}
    seconds = {name: int(w["create_duration"].rstrip("s")) for name, w in waits.items()}
    assert seconds["grants_propagated"] >= 120  # the Eventarc service agent: "a few minutes"
    assert seconds["log_metrics_known"] >= 600  # a new log metric: "up to 10 minutes"
    eventarc = waits["grants_propagated"]["triggers"].values()
    assert "${var.gcs_agent_publisher_grant}" in eventarc  # the root's, once per project
    assert "${google_project_iam_member.trigger_receives_events.id}" in eventarc
    for metric in RESOURCES["google_logging_metric"]:
        assert f"${{google_logging_metric.{metric}.id}}" in waits["log_metrics_known"]["triggers"].values()
    for policy, body in RESOURCES["google_monitoring_alert_policy"].items():
        if "logging.googleapis.com/user/" in str(body):
            assert body["depends_on"] == ["${time_sleep.log_metrics_known}"], policy


@pytest.mark.parametrize("path", [TF_ROOT, MODULE], ids=["root", "module"])
def test_hashicorp_time_is_a_required_provider(path):
    [terraform] = [b.body for b in load(path).of("terraform")]
    assert terraform["required_providers"][0]["time"]["source"] == "hashicorp/time"
    assert terraform["required_version"] == ">= 1.11.0"  # write-only arguments and ephemeral variables


# -- 5. one flush ----------------------------------------------------------------------------
def test_one_flush_instance_at_a_time():
    service = one("google_cloudfunctions2_function", "flush")["service_config"][0]
    assert service["max_instance_count"] == 1 and service["max_instance_request_concurrency"] == 1
