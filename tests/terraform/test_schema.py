"""The Terraform, checked against the Google provider's real schema (tests/terraform/provider_schema.py)
as `terraform validate` would check it, and the check shown to catch the mistakes it is for."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from . import provider_schema
from .schema_check import check
from .tfconfig import TF_ROOT, load

MODULES = sorted(p for p in (TF_ROOT / "modules").glob("*") if p.is_dir()) if (TF_ROOT / "modules").exists() else []
CONFIGS = [TF_ROOT, *MODULES]
RESOURCES_AT = MODULES[0] if MODULES else TF_ROOT  # where the deployment's resources are


@pytest.fixture(scope="session")
def schema():
    try:
        return provider_schema.load()
    except provider_schema.SchemaMissing as exc:
        pytest.fail(f"the schema check cannot run: {exc}", pytrace=False)


def test_the_schema_is_the_pinned_provider_release(schema):
    assert schema["provider_version"] == provider_schema.PROVIDER_VERSION
    assert len(schema["resource"]) > 1000 and len(schema["data"]) > 300
    function = schema["resource"]["google_cloudfunctions2_function"]
    assert function["args"]["name"]["required"] and not function["args"]["description"]["required"]
    assert "uri" in function["attrs"]["service_config"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(TF_ROOT.parent)))
def test_every_resource_and_data_source_matches_the_provider_schema(path, schema):
    report = check(path, schema)
    assert report.problems == []


def test_everything_is_checked_and_only_time_and_archive_by_hand(schema):
    reports = [check(path, schema) for path in CONFIGS]
    blocks = sum(r.blocks for r in reports)
    declared = sum(len(load(p).of("resource")) + len(load(p).of("data")) for p in CONFIGS)
    assert blocks == declared > 30
    assert sum(r.arguments for r in reports) > 200 and sum(r.references for r in reports) > 50
    by_hand = set().union(*(r.by_hand for r in reports))
    assert {t for _, t in by_hand} <= {"time_sleep", "archive_file"}


def _planted(tmp_path: Path, file: str, pattern: str, new: str) -> Path:
    """A copy of the module with one mistake: `pattern` (a regex, found exactly once in `file`) replaced."""
    copy = tmp_path / "copy"
    shutil.copytree(RESOURCES_AT, copy)
    text, n = re.subn(pattern, new, (copy / file).read_text())
    assert n == 1, f"the place to plant the mistake is not in {file} exactly once: {pattern!r}"
    (copy / file).write_text(text)
    return copy


@pytest.mark.parametrize("file,pattern,new,expected", [
    pytest.param("functions.tf", r"max_instance_request_concurrency( += 1\n\s+ingress_settings += var.flush_ingress)",
                 r"max_instance_request_concurency\1",
                 "google_cloudfunctions2_function.flush.service_config: unknown argument or block "
                 "`max_instance_request_concurency` (did you mean `max_instance_request_concurrency`?)",
                 id="a misspelled argument"),
    pytest.param("pubsub.tf", r"\n +topic += google_pubsub_topic.assets.id", "",
                 "google_pubsub_subscription.flush: missing required argument `topic`",
                 id="a missing required argument"),
    pytest.param("scheduler.tf", r"retry_count = 0[^\n]*\n",
                 "retry_count = 0\n    oidc_token {\n      service_account_email = \"x\"\n    }\n",
                 "google_cloud_scheduler_job.flush.retry_config: unknown argument or block `oidc_token`",
                 id="a nested block in the wrong place"),
    pytest.param("outputs.tf", r"(google_cloudfunctions2_function.flush.service_config\[0\]).uri\n",
                 r"\1.url\n",
                 "`google_cloudfunctions2_function.flush.service_config[0].url`: `url` is not an attribute it exports",
                 id="an attribute the resource does not export"),
])
def test_the_check_catches_a_planted_mistake(tmp_path, schema, file, pattern, new, expected):
    report = check(_planted(tmp_path, file, pattern, new), schema)
    assert len(report.problems) == 1 and expected in report.problems[0], report.problems


@pytest.mark.parametrize("pattern,new,expected", [
    (r"hub_batches( += )", r"hub_batch\1", "`hub_batch` is not a variable of hub-import (did you mean `hub_batches`?)"),
    (r"\n +state_bucket += [^\n]+", "", "missing required variable `state_bucket`"),
], ids=["a misspelled module argument", "a missing module variable"])
def test_the_check_catches_a_planted_mistake_in_the_module_call(tmp_path, schema, pattern, new, expected):
    copy = tmp_path / "terraform"
    shutil.copytree(TF_ROOT, copy, ignore=shutil.ignore_patterns(".terraform", "build"))
    text, n = re.subn(pattern, new, (copy / "main.tf").read_text(), count=1)
    assert n == 1
    (copy / "main.tf").write_text(text)
    report = check(copy, schema)
    assert len(report.problems) == 1 and expected in report.problems[0], report.problems


def _admits(constraint: str, version: str) -> bool:
    """Whether a Terraform version constraint (=, !=, >, >=, <, <=, ~>; comma-separated) admits `version`."""
    have = tuple(int(x) for x in version.split("."))
    for part in constraint.split(","):
        op, want = re.fullmatch(r"\s*(~>|>=|<=|!=|=|>|<)?\s*([\d.]+)\s*", part).groups()
        nums = tuple(int(x) for x in want.split("."))
        padded = nums + (0,) * (3 - len(nums))
        ok = {None: have == padded, "=": have == padded, "!=": have != padded, ">": have > padded,
              ">=": have >= padded, "<": have < padded, "<=": have <= padded,
              "~>": have >= padded and have[:len(nums) - 1] == nums[:-1]}[op]
        if not ok:
            return False
    return True


def _google_constraint(path: Path) -> str:
    terraform = [b.body for b in load(path).of("terraform")]
    return next(t["required_providers"][0]["google"]["version"] for t in terraform if "required_providers" in t)


def test_the_root_pins_the_google_release_the_check_uses():
    assert _google_constraint(TF_ROOT) == provider_schema.PROVIDER_VERSION


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_each_module_admits_the_checked_google_release(path):
    assert _admits(_google_constraint(path), provider_schema.PROVIDER_VERSION)


def test_constraints_are_read_as_terraform_reads_them():
    assert _admits("~> 7.46", "7.50.0") and not _admits("~> 7.46.1", "7.47.0")
    assert _admits(">= 7.46.1, < 8.0.0", "7.46.1") and not _admits(">= 7.46.1, < 8.0.0", "8.0.0")


@pytest.mark.skipif(not shutil.which("terraform"), reason="no terraform binary on PATH")
def test_terraform_fmt_finds_nothing_to_change():
    done = subprocess.run(["terraform", "fmt", "-check", "-recursive", "-diff", str(TF_ROOT)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("packing", ["plain", "gzip", "tarball"])
def test_the_assembly_is_read_however_the_wheel_packs_it(tmp_path, packing):
    import gzip
    import io
    import json
    import tarfile
    import zipfile

    assembly = json.dumps({"types": {}, "name": "x"}).encode()
    wheel = tmp_path / "x.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        if packing == "plain":
            z.writestr("pkg/_jsii/.jsii", assembly)
        elif packing == "gzip":
            z.writestr("pkg/_jsii/x.jsii.gz", gzip.compress(assembly))
        else:
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz") as tar:
                info = tarfile.TarInfo("package/.jsii")
                info.size = len(assembly)
                tar.addfile(info, io.BytesIO(assembly))
            z.writestr("pkg/_jsii/x@1.0.0.jsii.tgz", buf.getvalue())
    assert provider_schema._assembly(wheel) == {"types": {}, "name": "x"}
