"""What Terraform zips for the functions is what the local stack runs, and an omission fails loudly.

- The module's own lines (artifact.tf, which reads artifact.json) are evaluated by `terraform
  console`, which needs no provider: they give the very files deploy/artifact.py builds, and those
  are the package with every subpackage, main.py and requirements.txt, nothing else.
- Planted omissions (a subpackage the patterns miss, a module imported only inside a function that
  lives outside the artifact, a requirement that requirements.txt lacks) each stop the artifact,
  so `make up` and every integration test, with a message that names them.
- The zip is the same, byte for byte, from two clones made at different times with different modes.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from deploy import artifact
from tests.terraform.tfconfig import MODULE, ROOT, load

pytestmark = pytest.mark.skipif(not shutil.which("terraform"), reason="no terraform binary on PATH")


def terraform_files(root: Path, module: Path, tmp_path: Path) -> list[str]:
    """Terraform's own answer: artifact.tf's `local.artifact_files`, with source_dir = root."""
    config = tmp_path / "tf"
    config.mkdir()
    for name in ("artifact.tf", "artifact.json"):
        shutil.copy(module / name, config / name)
    (config / "stub.tf").write_text(f'variable "source_dir" {{\n  default = {json.dumps(str(root))}\n}}\n')
    done = subprocess.run(["terraform", "console"], input="jsonencode(local.artifact_files)", cwd=config,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull})
    assert done.returncode == 0, done.stderr
    return sorted(json.loads(json.loads(done.stdout.strip())))


def source_copy(tmp_path: Path) -> Path:
    """The files the artifact is made from, and the module's definition, in a directory of their own."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "hub_import", copy / "hub_import", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("main.py", "requirements.txt"):
        shutil.copy(ROOT / name, copy / name)
    (copy / "module").mkdir()
    for name in ("artifact.tf", "artifact.json"):
        shutil.copy(MODULE / name, copy / "module" / name)
    return copy


def test_terraform_and_the_local_stack_zip_the_same_files_the_whole_package_and_nothing_else(tmp_path):
    package = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "hub_import").rglob("*.py")
                     if "__pycache__" not in p.parts)
    by_terraform = terraform_files(ROOT, MODULE, tmp_path)
    assert by_terraform == artifact.files()
    assert by_terraform == sorted(package + ["main.py", "requirements.txt"])
    assert len({f.split("/")[1] for f in package if f.count("/") > 1}) >= 6  # core, state, hub, ingest, flush, ops


def test_the_zip_terraform_uploads_is_made_of_artifact_tf_files_alone_with_a_fixed_mode():
    archive = load(MODULE).data["archive_file"]["source"]
    assert archive["output_file_mode"] == "0644"
    assert "source_dir" not in archive and "source_file" not in archive and "source" not in archive
    [dynamic] = archive["dynamic"]
    assert dynamic["source"]["for_each"] == "${local.artifact_files}"
    assert dynamic["source"]["content"][0] == {"content": '${file("${local.source_dir}/${source.value}")}',
                                               "filename": "${source.value}"}


def test_what_the_stack_runs_is_what_the_definition_lists_unpacked_with_nothing_else(tmp_path):
    built = artifact.prepare(tmp_path / "artifact")
    unpacked = sorted(p.relative_to(built.source).as_posix() for p in built.source.rglob("*") if p.is_file())
    assert unpacked == artifact.files()
    with zipfile.ZipFile(built.zip) as z:
        assert sorted(z.namelist()) == artifact.files()
        assert {i.date_time for i in z.infolist()} == {artifact.ZIP_TIME}
        assert {i.external_attr >> 16 for i in z.infolist()} == {0o100644}
    # The functions' virtualenv holds functions-framework, and none of the tests' or the CLI's own packages.
    assert (built.bin / "functions-framework").exists()
    probe = "import importlib.util as u; print([n for n in ('PIL', 'pytest', 'hypothesis', 'tqdm') if u.find_spec(n)])"
    assert subprocess.run([str(built.bin / "python"), "-I", "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"
    # on the Python Cloud Run builds them for, when this machine has it (make test's machine does)
    version = subprocess.run([str(built.bin / "python"), "-c", "import sys; print('python%d%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    runtime = json.loads(artifact.DEFINITION.read_text())["runtime"]
    assert version == runtime or artifact.interpreter()[1]
    for function in ("ingest", "flush"):
        assert load(MODULE).resources["google_cloudfunctions2_function"][function]["build_config"][0]["runtime"] \
            == "${local.artifact.runtime}"


@pytest.mark.parametrize("plant", ["subpackage", "imported_in_a_function", "requirement"])
def test_a_planted_omission_stops_the_artifact_with_a_message_that_names_it(tmp_path, plant):
    # GIVEN a copy of the source with one omission planted
    repo = source_copy(tmp_path)
    definition = repo / "module" / "artifact.json"
    if plant == "subpackage":
        # the zip's old pattern: `*` stops at a `/`, so every subpackage is left out
        spec = json.loads(definition.read_text())
        spec["include"] = ["main.py", "requirements.txt", "hub_import/*.py"]
        definition.write_text(json.dumps(spec))
        expected = "imports hub_import.core, which the artifact does not hold"
    elif plant == "imported_in_a_function":
        # a helper beside main.py, outside every pattern, imported only when a function runs
        (repo / "naming_helpers.py").write_text("def clean(name):\n    return name\n")
        with open(repo / "hub_import" / "core" / "text.py", "a") as module:
            module.write("\n\ndef _clean(name):\n    from naming_helpers import clean\n    return clean(name)\n")
        expected = "hub_import/core/text.py:"
        expected_too = "imports naming_helpers, which neither the artifact holds nor requirements.txt installs"
    else:
        # a library the tests have (pillow) but requirements.txt does not
        with open(repo / "hub_import" / "ingest" / "probe.py", "a") as module:
            module.write("\n\ndef _thumbnail(data):\n    import PIL.Image\n    return PIL.Image.open(data)\n")
        expected = "hub_import/ingest/probe.py:"
        expected_too = "imports PIL.Image, which neither the artifact holds nor requirements.txt installs"
    # WHEN the artifact is built from it, as `make up` and every integration test do
    with pytest.raises(artifact.ArtifactError) as failure:
        artifact.prepare(tmp_path / "out", repo, definition)
    # THEN it stops, naming the omission
    message = str(failure.value)
    assert "would fail where it is deployed" in message and expected in message
    if plant != "subpackage":
        assert expected_too in message
    else:
        # and Terraform's own evaluation of the planted definition leaves the same files out
        assert not any(f.startswith("hub_import/hub/") for f in terraform_files(repo, repo / "module", tmp_path))


def test_without_a_plant_the_copy_builds(tmp_path):
    repo = source_copy(tmp_path)
    built = artifact.prepare(tmp_path / "out", repo, repo / "module" / "artifact.json")
    assert built.md5 == hashlib.md5(built.zip.read_bytes()).hexdigest()


def test_two_clones_made_apart_give_the_same_zip_byte_for_byte(tmp_path):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    md5s = []
    for index, umask in enumerate((0o022, 0o077)):
        clone = tmp_path / f"clone{index}"
        old = os.umask(umask)
        try:
            subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True,
                           capture_output=True, timeout=120)
        finally:
            os.umask(old)
        for path in clone.rglob("*.py"):
            os.utime(path, (1_000_000_000 + index * 12345, 1_000_000_000 + index * 12345))
        md5s.append(artifact.build(tmp_path / f"zip{index}.zip", clone, clone / artifact.DEFINITION.relative_to(ROOT)))
    assert md5s[0] == md5s[1]


def test_the_local_stack_serves_every_entry_point_of_main_py(tmp_path):
    from deploy.local.stack import SERVED

    assert artifact.entry_points(ROOT) == {"on_object_finalized": "cloudevent", "flush": "http", "sweep": "http"}
    assert set(SERVED) == set(artifact.entry_points(ROOT))
    # an entry point added later is found, so that the stack refuses to start without serving it
    (tmp_path / "main.py").write_text((ROOT / "main.py").read_text()
                                      + "\n\n@functions_framework.http\ndef later(request):\n    return {}\n")
    assert artifact.entry_points(tmp_path)["later"] == "http"
