"""The functions' artifact, as Terraform ships it and as the local stack runs it.

    python -m deploy.artifact [--out DIR]     build, unpack, install and check; print the zip's md5

One definition (terraform/modules/hub-import/artifact.json, read by artifact.tf as well) says
which files the source holds. Here they are zipped the way that stays the same on any machine
(sorted, fixed timestamps and modes), unpacked in a directory of their own, and installed in a
virtualenv made from the artifact's own requirements.txt, as Google's Python buildpack does; the
local stack then serves both entry points from there with functions-framework's `--target`.

`missing` reads every module of an unpacked artifact, and every import in it (at the top, inside
functions, under `try`) must be found: in the artifact itself, in the standard library, or in what
requirements.txt installs. An import the artifact does not carry fails here, before any function
starts, instead of at the first event that reaches the code importing it.
"""
from __future__ import annotations

import argparse
import ast
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .artifact_imports import ArtifactError, missing

ROOT = Path(__file__).resolve().parent.parent
DEFINITION = ROOT / "terraform" / "modules" / "hub-import" / "artifact.json"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no build's clock reaches the bytes
FILE_MODE = 0o644  # as functions.tf's output_file_mode


def patterns(definition: Path = DEFINITION) -> list[str]:
    return list(json.loads(definition.read_text())["include"])


def files(root: Path = ROOT, definition: Path = DEFINITION) -> list[str]:
    """What the artifact holds, as paths relative to `root`: what Terraform's fileset() finds for
    each pattern (files only; `**` is zero or more folders in both)."""
    found = set()
    for pattern in patterns(definition):
        found.update(p.relative_to(root).as_posix() for p in root.glob(pattern) if p.is_file())
    return sorted(found)


def build(out: Path, root: Path = ROOT, definition: Path = DEFINITION) -> str:
    """Write the zip to `out`; returns its md5, the same for the same files on any machine."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as archive:
        for name in files(root, definition):
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            entry.external_attr = (0o100000 | FILE_MODE) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, (root / name).read_bytes(), compresslevel=9)
    return hashlib.md5(out.read_bytes()).hexdigest()


def unpack(archive: Path, target: Path) -> Path:
    """The zip's files in `target`, and nothing else (what an earlier unpack left is removed)."""
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(archive) as z:
        z.extractall(target)
    return target


def cache_dir() -> Path:
    """Where what the checks download lives between runs: the functions' virtualenvs, the CLI's,
    the provider schema (`$HUB_IMPORT_CACHE`, else `$XDG_CACHE_HOME/gcs-to-hub`, else ~/.cache)."""
    base = os.environ.get("HUB_IMPORT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gcs-to-hub")
    return Path(base)


def interpreter(definition: Path = DEFINITION) -> tuple[str, str | None]:
    """The Python the functions run on here: the runtime's version (artifact.json, "python312"
    is 3.12) when this machine has it, else this one; and, then, a line saying so."""
    digits = json.loads(definition.read_text())["runtime"].removeprefix("python")
    version = f"{digits[0]}.{digits[1:]}"
    pyenv = Path(os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv"))
    candidates = [shutil.which(f"python{version}"), f"/usr/bin/python{version}",
                  *sorted(map(str, pyenv.glob(f"versions/{version}.*/bin/python{version}")), reverse=True)]
    for candidate in (c for c in candidates if c and os.access(c, os.X_OK)):
        # (a pyenv shim is on PATH even when its version is not selected: it must run)
        if subprocess.run([candidate, "-c", "import venv, ensurepip"], capture_output=True).returncode == 0:
            return candidate, None
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return getattr(sys, "_base_executable", sys.executable), (
        None if here == version else f"Python {version}, the functions' runtime, is not on this machine: "
                                     f"the local stack runs them on {here}")


def runtime(requirements: Path, definition: Path = DEFINITION) -> Path:
    """A virtualenv holding what `requirements` installs and nothing else, as the buildpack makes
    it (`pip install -r requirements.txt`), on the runtime's Python (see interpreter); made once
    per requirements file and interpreter, then kept. Returns its bin directory.

    Hashes are required, as the buildpack's pip requires them of a file whose lines carry --hash:
    a package without a pin or a hash, a file whose hash differs, or a dependency the lock left
    out (pip still resolves dependencies, and each must be in the file) stops the install here."""
    base, note = interpreter(definition)
    if note:
        print(f"note: {note}", file=sys.stderr)
    key = hashlib.sha256(requirements.read_bytes() + base.encode()).hexdigest()[:16]
    venv = cache_dir() / "function-venvs" / key
    ready = venv / ".installed"
    if ready.exists():
        return venv / "bin"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test worker may be making the same one
        if not ready.exists():
            shutil.rmtree(venv, ignore_errors=True)
            for step in ([base, "-m", "venv", str(venv)],
                         [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                          "--no-input", "--require-hashes", "-r", str(requirements)]):
                done = subprocess.run(step, capture_output=True, text=True)
                if done.returncode != 0:
                    shutil.rmtree(venv, ignore_errors=True)
                    raise ArtifactError(f"cannot install the functions' requirements ({' '.join(step[-3:])}): "
                                        f"{(done.stderr or done.stdout).strip()[-1500:]}\n"
                                        "It needs PyPI (or a pip index set with PIP_INDEX_URL) and python3-venv.")
            ready.touch()
    return venv / "bin"


def left_out(root: Path = ROOT, definition: Path = DEFINITION) -> list[str]:
    """Files in the folders the artifact's patterns take from (hub_import/) that it does not carry:
    a data file the code would read there is missing where it is deployed. Caches aside."""
    carried = set(files(root, definition))
    folders = {p.split("*")[0].rsplit("/", 1)[0] for p in patterns(definition) if "/" in p.split("*")[0]}
    return sorted(rel for folder in folders for p in (root / folder).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
                  and (rel := p.relative_to(root).as_posix()) not in carried)


def entry_points(source: Path) -> dict[str, str]:
    """main.py's entry points, {function: signature type}: each function decorated with
    `functions_framework.http` ("http") or `functions_framework.cloud_event` ("cloudevent")."""
    kinds = {"http": "http", "cloud_event": "cloudevent"}
    found = {}
    for node in ast.parse((source / "main.py").read_bytes()).body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                name = ast.unparse(decorator).removeprefix("functions_framework.")
                if name in kinds:
                    found[node.name] = kinds[name]
    return found


@dataclass(frozen=True)
class Artifact:
    zip: Path
    md5: str
    source: Path  # the unpacked files: the functions' working directory
    bin: Path  # the virtualenv's bin directory: python, functions-framework

    def serve(self, target: str, port: int) -> list[str]:
        """The command that serves one of main.py's entry points, as Cloud Run functions do."""
        signature = entry_points(self.source)[target]
        return [str(self.bin / "functions-framework"), "--target", target, "--signature-type", signature,
                "--source", str(self.source / "main.py"), "--host", "127.0.0.1", "--port", str(port)]


def prepare(directory: Path, root: Path = ROOT, definition: Path = DEFINITION) -> Artifact:
    """Build the artifact from `root` into DIRECTORY/source.zip, unpack it in DIRECTORY/source,
    install its requirements, and check that it carries every import: ArtifactError otherwise."""
    directory = Path(directory).resolve()
    archive = directory / "source.zip"
    md5 = build(archive, root, definition)
    source = unpack(archive, directory / "source")
    for needed in ("main.py", "requirements.txt"):
        if not (source / needed).is_file():
            raise ArtifactError(f"the artifact has no {needed}: see {definition}")
    bin_dir = runtime(source / "requirements.txt", definition)
    problems = missing(source, bin_dir) + [f"{name} is in the package but not in the artifact: the functions would "
                                           "not find it where they are deployed" for name in left_out(root, definition)]
    if problems:
        raise ArtifactError("the functions' artifact would fail where it is deployed:\n  - " + "\n  - ".join(problems)
                            + f"\nWhat it holds is defined in {DEFINITION.relative_to(ROOT)} (and requirements.txt).")
    return Artifact(zip=archive, md5=md5, source=source, bin=bin_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / ".local" / "artifact"), help="directory (default .local/artifact)")
    args = parser.parse_args(argv)
    try:
        built = prepare(Path(args.out))
    except ArtifactError as exc:
        print(f"artifact: {exc}", file=sys.stderr)
        return 1
    print(f"{built.zip}  md5 {built.md5}  {len(files())} files; runs from {built.source} with {built.bin.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
