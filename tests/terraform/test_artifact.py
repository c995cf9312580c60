"""What Terraform zips for the functions is what the package is: every module of hub_import (its
subpackages included), main.py and requirements.txt, and nothing else; and `import main` works
from a directory that holds only that.

The module's own `fileset(...)` expression is evaluated by `terraform console`, which needs no
provider, so that a pattern that stops at a `/` (as `*.py` does) leaves the subpackages out here
exactly as it would in the zip.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.terraform.tfconfig import MODULE, ROOT

pytestmark = pytest.mark.skipif(not shutil.which("terraform"), reason="no terraform binary on PATH")

FUNCTIONS_TF = MODULE / "functions.tf"
# The archive's sources: single files, and the package as one fileset.
FILE_SOURCE = re.compile(r'content\s*=\s*file\("\$\{local\.source_dir\}/([^"$]+)"\)\s*\n\s*filename\s*=\s*"([^"]+)"')
FILESET = re.compile(r'fileset\("\$\{local\.source_dir\}/([^"]+)",\s*"([^"]+)"\)')


def fileset(directory, pattern: str, tmp_path) -> list[str]:
    """Terraform's own answer to fileset(directory, pattern)."""
    expression = f"jsonencode(fileset({json.dumps(str(directory))}, {json.dumps(pattern)}))"
    done = subprocess.run(["terraform", "console"], input=expression, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull})
    assert done.returncode == 0, done.stderr
    return json.loads(json.loads(done.stdout.strip()))


def artifact(tmp_path) -> dict[str, str]:
    """What the zip holds, as {path in the zip: path in the repository}."""
    text = FUNCTIONS_TF.read_text()
    files = {zipped: source for source, zipped in FILE_SOURCE.findall(text)}
    [(package, pattern)] = FILESET.findall(text)
    for name in fileset(ROOT / package, pattern, tmp_path):
        files[f"{package}/{name}"] = f"{package}/{name}"
    return files


def test_the_zip_holds_every_module_of_the_package_and_nothing_else(tmp_path):
    files = artifact(tmp_path)
    package = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "hub_import").rglob("*.py")
                     if "__pycache__" not in p.parts)
    assert sorted(f for f in files if f.startswith("hub_import/")) == package
    assert set(files) - set(package) == {"main.py", "requirements.txt"}
    assert len({f.split("/")[1] for f in package if f.count("/") > 1}) >= 5  # the subpackages are there


def test_main_and_every_module_import_from_a_directory_that_holds_only_the_zip(tmp_path):
    # GIVEN a directory with what the zip holds, and nothing of the repository on the path
    unpacked = tmp_path / "source"
    for zipped, source in artifact(tmp_path).items():
        (unpacked / zipped).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / source, unpacked / zipped)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(GOOGLE_CLOUD_PROJECT="p", LANDING_BUCKET="landing", STATE_BUCKET="state", TOPIC_ID="t",
               SUBSCRIPTION_ID="s", DEAD_LETTER_TOPIC_ID="d", HUB_PROJECT_ID="proj", HUB_STORAGE_ID="store")
    # WHEN Python imports the entry points there, and then every module the zip holds
    script = ("import importlib, pkgutil, main, hub_import\n"
              "assert main.__file__.startswith(%r), main.__file__\n"
              "names = [m.name for m in pkgutil.walk_packages(hub_import.__path__, 'hub_import.')\n"
              "         if not m.name.endswith('__main__')]  # (that one runs the CLI)\n"
              "[importlib.import_module(n) for n in names]\n"
              "print(len(names), callable(main.on_object_finalized), callable(main.flush))") % str(unpacked)
    done = subprocess.run([sys.executable, "-c", script], cwd=unpacked, env=env, capture_output=True, text=True,
                          timeout=120)
    # THEN both entry points are there, and no module is missing
    assert done.returncode == 0, done.stderr[-2000:]
    count, *entry_points = done.stdout.split()
    assert entry_points == ["True", "True"]
    assert int(count) >= 40
