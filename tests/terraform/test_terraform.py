"""The hub-import module, checked without a provider: parsed (python-hcl2), its settings and
grants asserted, its environment matched against the code's, and scanned by checkov.
(test_schema.py checks it against the provider's schema.)"""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from hub_import.core.settings import ENV

from .tfconfig import MODULE, ROOT, TF_ROOT, load

CONFIG = load(MODULE)
RESOURCES = CONFIG.resources
VARIABLES = CONFIG.variables


def one(rtype: str, name: str) -> dict:
    return RESOURCES[rtype][name]


def test_every_variable_is_typed_and_described():
    for path in (TF_ROOT, MODULE):
        for name, var in load(path).variables.items():
            assert var.get("type") and var.get("description"), (path.name, name)


def test_the_trigger_takes_finalized_objects_of_the_landing_bucket_and_retries():
    trigger = one("google_cloudfunctions2_function", "ingest")["event_trigger"][0]
    assert trigger["event_type"] == "google.cloud.storage.object.v1.finalized"
    assert trigger["retry_policy"] == "RETRY_POLICY_RETRY"
    assert trigger["event_filters"][0] == {"attribute": "bucket", "value": "${local.landing_bucket}"}
    assert "landing_location" in trigger["trigger_region"]
    assert trigger["service_account_email"] == "${google_service_account.trigger.email}"


def test_with_on_delete_the_same_function_takes_deleted_and_archived_objects_of_the_landing_bucket():
    trigger = one("google_eventarc_trigger", "deleted")
    assert "var.on_delete == \"delete\"" in trigger["for_each"] and "deleted" in trigger["for_each"]
    assert "archived" in trigger["for_each"]
    criteria = {c["attribute"]: c["value"] for c in trigger["matching_criteria"]}
    assert criteria == {"type": "google.cloud.storage.object.v1.${each.key}", "bucket": "${local.landing_bucket}"}
    assert trigger["location"] == "${lower(local.landing_location)}"  # where the bucket's events are
    [destination] = trigger["destination"][0]["cloud_run_service"]
    assert "google_cloudfunctions2_function.ingest.service_config[0].service" in destination["service"]  # its name: test_day2
    assert trigger["service_account"] == "${google_service_account.trigger.email}"
    assert "retry_policy" not in trigger  # Eventarc's default: a failed delivery is retried
    assert VARIABLES["on_delete"]["default"] == ENV["ON_DELETE"][0] == "ignore"
    # The flush then asks the landing bucket whether a deleted file is back: it may read it, only then.
    reads = one("google_storage_bucket_iam_member", "flush_reads_landing")
    assert reads["count"] == '${var.on_delete == "delete" ? 1 : 0}' and reads["bucket"] == "${local.landing_bucket}"
    assert (reads["role"], reads["member"]) == ("roles/storage.objectViewer",
                                                "serviceAccount:${google_service_account.flush.email}")


def test_entry_points_are_the_functions_in_main_py():
    main = (ROOT / "main.py").read_text()
    for name in ("ingest", "flush"):
        entry = one("google_cloudfunctions2_function", name)["build_config"][0]["entry_point"]
        assert re.search(rf"^def {entry}\(", main, re.M), entry


def test_the_subscription_has_a_dead_letter_policy_retention_and_no_expiry():
    sub = one("google_pubsub_subscription", "flush")
    assert sub["dead_letter_policy"][0]["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert sub["dead_letter_policy"][0]["max_delivery_attempts"] == 100
    assert sub["message_retention_duration"] == "604800s"
    assert sub["expiration_policy"][0]["ttl"] == ""
    assert sub["ack_deadline_seconds"] == 600
    assert sub["retry_policy"][0]["minimum_backoff"] == "10s"


def test_the_scheduler_calls_the_flush_with_an_oidc_token_of_its_own_account():
    job = one("google_cloud_scheduler_job", "flush")
    target = job["http_target"][0]
    assert target["http_method"] == "POST"
    assert target["oidc_token"][0]["service_account_email"] == "${google_service_account.scheduler.email}"
    invoker = one("google_cloud_run_service_iam_member", "scheduler_invokes_flush")
    assert invoker["role"] == "roles/run.invoker" and "flush" in invoker["service"]


def test_the_api_key_is_a_secret_variable_of_the_flush_only():
    flush = one("google_cloudfunctions2_function", "flush")["service_config"][0]
    [secret] = flush["secret_environment_variables"]
    assert secret["key"] == "HUB_API_KEY"
    ingest = one("google_cloudfunctions2_function", "ingest")["service_config"][0]
    assert "secret_environment_variables" not in ingest
    access = one("google_secret_manager_secret_iam_member", "flush_reads_key")
    assert access["member"] == "serviceAccount:${google_service_account.flush.email}"


def test_each_function_gets_exactly_the_settings_the_code_reads():
    env = set(CONFIG.locals["function_env"])
    for name in ("ingest", "flush"):
        service = one("google_cloudfunctions2_function", name)["service_config"][0]
        assert service["environment_variables"] == "${local.function_env}"
        secrets = {s["key"] for s in service.get("secret_environment_variables", [])}
        expected = set(ENV) if name == "flush" else set(ENV) - {"HUB_API_KEY"}
        assert env | secrets == expected, {"extra": (env | secrets) - expected, "missing": expected - (env | secrets)}


@pytest.mark.parametrize("setting", [k for k in ENV if k.lower() in {
    "url_template", "external_id_template", "probe_max_bytes", "max_assets_per_manifest", "on_overwrite",
    "max_event_age_seconds", "log_level", "hub_requests_per_minute", "max_object_bytes", "hub_api_url",
    "max_template_batches", "max_context_value_bytes", "max_deletions_per_hour"}])
def test_terraform_defaults_are_the_code_defaults(setting):
    assert str(VARIABLES[setting.lower()]["default"]) == ENV[setting][0]


@pytest.mark.parametrize("variable,setting", [("allowed_extensions", "ALLOWED_EXTENSIONS"),
                                              ("allowed_content_types", "ALLOWED_CONTENT_TYPES")])
def test_terraform_list_defaults_are_the_code_defaults(variable, setting):
    assert ",".join(VARIABLES[variable]["default"]) == ENV[setting][0]


def test_the_landing_bucket_cors_comes_from_the_origins_variable_and_allows_only_reads():
    bucket = one("google_storage_bucket", "landing")
    [cors] = bucket["cors"]
    assert cors["origin"] == "${var.hub_origins}" and cors["method"] == ["GET", "HEAD"]
    assert bucket["public_access_prevention"] == "enforced" and bucket["uniform_bucket_level_access"] is True
    assert json.loads((ROOT / "deploy" / "cors.json").read_text())[0]["method"] == ["GET", "HEAD"]


def test_the_state_bucket_is_private_and_ages_out_manifests_but_keeps_the_ledger():
    state = one("google_storage_bucket", "state")
    assert state["public_access_prevention"] == "enforced" and state["uniform_bucket_level_access"] is True
    ages = [r for r in state["lifecycle_rule"] if "age" in r["condition"][0]]
    # dated manifests only: the pending markers and heal checks under manifests/ are live state
    assert [r["condition"][0]["matches_prefix"] for r in ages] == [["manifests/2"]]


def test_the_source_zip_is_named_by_its_md5():
    # (what it holds: test_artifact.py)
    assert "output_md5" in one("google_storage_bucket_object", "source")["name"]


def _members():
    for rtype, named in RESOURCES.items():
        if rtype.endswith(("_iam_member", "_iam_binding")):
            for name, body in named.items():
                yield rtype, name, body


def test_nothing_is_public_and_no_primitive_role_is_granted():
    text = load(TF_ROOT).text + CONFIG.text
    assert "allUsers" not in text and "allAuthenticatedUsers" not in text
    for rtype, name, body in _members():
        assert body["role"] not in ("roles/owner", "roles/editor", "roles/viewer"), name
        assert not body["role"].endswith(".admin") or body["role"] == "roles/storage.objectAdmin", name


def test_project_level_grants_are_the_one_eventarc_needs_the_builds_logs_and_sources_and_the_flushs_metrics():
    # (the Cloud Storage service agent's, which Eventarc needs too, is the root's: test_module).
    # The flush reads Pub/Sub's backlog metrics for status (flush/backlog.py): Monitoring's read
    # role has no narrower scope than the project, and reads metrics only.
    project_level = {(body["role"], body["member"]) for rtype, _, body in _members() if rtype.startswith("google_project_iam")}
    assert project_level == {
        ("roles/eventarc.eventReceiver", "serviceAccount:${google_service_account.trigger.email}"),
        ("roles/logging.logWriter", "serviceAccount:${google_service_account.build.email}"),
        ("roles/storage.objectAdmin", "serviceAccount:${google_service_account.build.email}"),
        ("roles/monitoring.viewer", "serviceAccount:${google_service_account.flush.email}"),
    }
    # The build's storage role reaches the function-source buckets only.
    assert one("google_project_iam_member", "build_reads_sources")["condition"][0]["expression"]


def test_the_builds_object_admin_role_reaches_the_two_function_source_buckets_and_nothing_else():
    # Issue 22's suspicion (objectAdmin where objectViewer may do): Google's page on the build
    # service account lists Storage Object Admin, "for retrieving the function source ... and to
    # store build images"; what keeps it harmless is its condition: the two buckets of function
    # sources (ours, and the one Cloud Functions copies each deployed source into), each bucket
    # itself or an object in it, never the landing or the state bucket.
    sources = [b["source_buckets"] for b in (blk.body for blk in CONFIG.blocks if blk.kind == "locals")
               if "source_buckets" in b]
    assert sources == [["${google_storage_bucket.source.name}",
                        "gcf-v2-sources-${data.google_project.this.number}-${var.region}"]]
    expression = one("google_project_iam_member", "build_reads_sources")["condition"][0]["expression"]
    assert "local.source_buckets" in expression and "landing" not in expression and "state" not in expression
    assert 'resource.name == \\"projects/_/buckets/${b}\\"' in expression or \
        'resource.name == \"projects/_/buckets/${b}\"' in expression, expression
    assert 'resource.name.startsWith(' in expression and '/buckets/${b}/' in expression, expression


def test_each_function_runs_as_its_own_account():
    accounts = {one("google_cloudfunctions2_function", n)["service_config"][0]["service_account_email"]
                for n in ("ingest", "flush")}
    assert accounts == {"${google_service_account.ingest.email}", "${google_service_account.flush.email}"}


def test_checkov_finds_nothing_and_every_skip_says_why():
    checkov = ROOT / ".venv-checkov" / "bin" / "checkov"
    assert checkov.exists() or shutil.which("checkov"), "checkov is missing: `make test` installs it into .venv-checkov"
    done = subprocess.run([str(checkov) if checkov.exists() else "checkov", "-d", str(TF_ROOT), "--framework", "terraform",
                           "--compact", "--skip-download", "-o", "json"],
                          capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout)
    summary = report["summary"]
    assert summary["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert summary["passed"] > 20
    # The root applies first without a storage id, so the functions have count 0 there: they
    # must still be scanned (checkov does not drop them).
    scanned = {re.sub(r"^module\.\w+\.|\[\d+\]$", "", c["resource"])
               for kind in ("passed_checks", "skipped_checks") for c in report["results"][kind]}
    assert {"google_cloudfunctions2_function.ingest", "google_cloudfunctions2_function.flush",
            "google_cloud_run_service_iam_member.scheduler_invokes_flush"} <= scanned, sorted(scanned)
    for line in (load(TF_ROOT).text + CONFIG.text).splitlines():
        if "checkov:skip=" in line:
            assert re.search(r"checkov:skip=CKV2?_\w+:\s*\S.{10,}", line), f"a skip without its reason: {line}"


def test_the_results_topic_is_named_in_the_settings_and_only_the_flush_may_publish_to_it():
    topic = one("google_pubsub_topic", "results")
    assert topic["name"] == "${var.name_prefix}-results" and topic["count"] == "${var.publish_results ? 1 : 0}"
    assert CONFIG.locals["function_env"]["RESULTS_TOPIC"] == \
        '${var.publish_results ? google_pubsub_topic.results[0].name : ""}'
    assert VARIABLES["publish_results"]["default"] is True
    grants = [body for _, _, body in _members() if "google_pubsub_topic.results" in str(body)]
    assert [(g["role"], g["member"]) for g in grants] == \
        [("roles/pubsub.publisher", "serviceAccount:${google_service_account.flush.email}")]
