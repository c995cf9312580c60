"""The Google provider's schema, read from the jsii assembly that the PyPI package
cdktn-provider-google ships inside its wheel (generated from the provider's own schema).

No Terraform provider can be downloaded here, so this is the schema `make test` checks the
configuration against. The wheel is downloaded once with pip into a cache outside the repository
(`$HUB_IMPORT_CACHE`, else `$XDG_CACHE_HOME/gcs-to-hub`, else `~/.cache/gcs-to-hub`), pinned by
version and sha256; an index of every resource and data source (arguments, nested blocks,
exported attributes) is built from it once and kept beside it.

    python -m tests.terraform.provider_schema     # fetch and index; says what is missing if it cannot
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from deploy.artifact import cache_dir  # one cache for all a check downloads

PACKAGE = "cdktn-provider-google"
PACKAGE_VERSION = "20.3.1"
PROVIDER_VERSION = "7.46.1"  # the hashicorp/google release these bindings were generated from
WHEEL = "cdktn_provider_google-20.3.1-py3-none-any.whl"
WHEEL_SHA256 = "562d1a5f4d9850be9f43f53b9c1cbb1899f0ce7c8daaf1e7b51181287e82a380"
INDEX_FORMAT = 1

_LINK = re.compile(r"/providers/hashicorp/google/([\d.]+)/docs/(resources|data-sources)/\w+ (google_\w+)\}")
_TF_NAME = re.compile(r"#([a-z0-9_]+) \w+#\1\}")


class SchemaMissing(RuntimeError):
    """The schema package is not in the cache and could not be fetched; the message says why and what to do."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch() -> Path:
    """The pinned wheel in the cache, downloaded with pip when absent. Raises SchemaMissing
    (naming the package, the cache and the command to run) when it cannot be had."""
    wheel = cache_dir() / WHEEL
    if not wheel.exists():
        wheel.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                               f"{PACKAGE}=={PACKAGE_VERSION}", "-d", str(wheel.parent)],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not wheel.exists():
            tail = "\n".join(line for line in done.stderr.splitlines() if "is ignored" not in line)[-800:]
            raise SchemaMissing(
                f"the Google provider schema ({PACKAGE}=={PACKAGE_VERSION}, a {WHEEL} of about 65 MB) is not in "
                f"{wheel.parent} and pip could not download it:\n{tail}\n"
                f"Fix the network or the package index, or put the wheel there by hand "
                f"(sha256 {WHEEL_SHA256}), then run: make schema")
    actual = _sha256(wheel)
    if actual != WHEEL_SHA256:
        wheel.unlink()
        raise SchemaMissing(f"{wheel} had sha256 {actual}, not the pinned {WHEEL_SHA256}; removed it. Run: make schema")
    return wheel


def _assembly(wheel: Path) -> dict:
    """The jsii assembly inside the wheel: a .jsii file, gzip-compressed, or inside a tarball."""
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        for name in names:
            if name.endswith(".jsii"):
                return json.loads(z.read(name))
            if name.endswith(".jsii.gz"):
                return json.loads(gzip.decompress(z.read(name)))
        for name in names:
            if "_jsii/" in name and name.endswith((".tgz", ".tar.gz")):
                with tarfile.open(fileobj=io.BytesIO(z.read(name))) as tar:
                    member = next(m for m in tar.getmembers() if m.name.endswith("/.jsii") or m.name == ".jsii")
                    return json.loads(tar.extractfile(member).read())
    raise SchemaMissing(f"no jsii assembly in {wheel}")


def _struct_fqn(type_ref: dict, types: dict) -> str | None:
    """The nested-block struct a property's type names (directly, in a list, or in a union), if any."""
    if "fqn" in type_ref:
        fqn = type_ref["fqn"]
        kind = types.get(fqn, {})
        return fqn if kind.get("kind") == "interface" and kind.get("datatype") else None
    if "collection" in type_ref:
        return _struct_fqn(type_ref["collection"]["elementtype"], types)
    for option in type_ref.get("union", {}).get("types", []):
        found = _struct_fqn(option, types)
        if found:
            return found
    return None


def _arguments(fqn: str, types: dict, seen: frozenset = frozenset()) -> dict:
    """{terraform name: {"required": bool, "block": nested arguments or None}} of a Config struct."""
    args = {}
    for prop in types[fqn].get("properties", []):
        docs = prop.get("docs", {})
        match = _TF_NAME.search(docs.get("remarks", "") + " " + docs.get("summary", ""))
        if not match:
            continue  # the meta-arguments (count, depends_on, ...) come from cdktn, without a registry link
        nested = _struct_fqn(prop["type"], types)
        block = _arguments(nested, types, seen | {fqn}) if nested and nested not in seen else None
        args[match.group(1)] = {"required": not prop.get("optional", False), "block": block}
    return args


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _attributes(fqn: str, types: dict, depth: int = 0) -> dict:
    """{terraform name: nested attributes, or None for a leaf} that a class (or output reference) exports."""
    cls = types[fqn]
    attrs: dict = {}
    for prop in cls.get("properties", []):
        name = prop["name"]
        if prop.get("static") or name.endswith("Input") or name in ("internalValue", "fqn", "creationStack"):
            continue
        ref = prop["type"].get("fqn", "")
        target = types.get(ref, {})
        if ref.endswith("List") and target.get("base") == "cdktn.ComplexList":
            getter = next((m for m in target.get("methods", []) if m["name"] == "get"), None)
            ref = getter["returns"]["type"]["fqn"] if getter else ""
            target = types.get(ref, {})
        nested = _attributes(ref, types, depth + 1) if target.get("base") == "cdktn.ComplexObject" and depth < 8 else None
        snake = _snake(name)
        attrs[snake] = nested
        if snake.endswith("_attribute"):  # cdktn renames attributes that clash with its own names
            attrs.setdefault(snake[: -len("_attribute")], nested)
    return attrs


def build_index(assembly: dict) -> dict:
    """Every resource and data source of the provider: its arguments (with nested blocks, at any
    depth) and the attributes it exports."""
    types = assembly["types"]
    index: dict = {"format": INDEX_FORMAT, "package": f"{PACKAGE}=={PACKAGE_VERSION}",
                   "provider_version": None, "resource": {}, "data": {}}
    for fqn, cls in types.items():
        if cls.get("base") not in ("cdktn.TerraformResource", "cdktn.TerraformDataSource"):
            continue
        link = _LINK.search(cls.get("docs", {}).get("summary", ""))
        config = next((p for p in cls.get("initializer", {}).get("parameters", []) if p["name"] == "config"), None)
        if not link or not config:
            continue
        index["provider_version"] = link.group(1)
        kind = "resource" if link.group(2) == "resources" else "data"
        index[kind][link.group(3)] = {"args": _arguments(config["type"]["fqn"], types),
                                      "attrs": _attributes(fqn, types)}
    return index


def load() -> dict:
    """The index (see build_index), built from the pinned wheel once and cached beside it."""
    cached = cache_dir() / f"google-{PROVIDER_VERSION}-{WHEEL_SHA256[:12]}-index{INDEX_FORMAT}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    index = build_index(_assembly(fetch()))
    if index["provider_version"] != PROVIDER_VERSION:
        raise SchemaMissing(f"{WHEEL} describes google {index['provider_version']}, not {PROVIDER_VERSION}")
    partial = cached.with_suffix(".tmp")
    partial.write_text(json.dumps(index))
    partial.replace(cached)
    return index


def main() -> int:
    try:
        index = load()
    except SchemaMissing as exc:
        print(f"make schema: {exc}", file=sys.stderr)
        return 1
    print(f"google provider {index['provider_version']} schema from {index['package']}: "
          f"{len(index['resource'])} resources, {len(index['data'])} data sources, cached in {cache_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
