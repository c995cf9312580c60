"""The deployment with every provider resource stood in by Terraform's built-in `terraform_data`,
so that a real `terraform apply` can run here, where no provider can be downloaded.

Each resource and data source becomes a `terraform_data` of the same count, for_each and
depends_on whose `input` holds its arguments and nested blocks (as an object) and a stand-in
value for each attribute the configuration reads from it; every reference is rewritten to read
that object. Variables, locals, outputs, checks and module calls are kept as written. So
Terraform itself evaluates what the configuration decides: counts, for_each, references to
instances, conditional outputs, checks, variable validations, the dependency graph. What the
provider and Google would do with the arguments is out of its reach (the schema check covers
the arguments' names, not their values).

Limits: `dynamic` blocks and `lifecycle` are dropped; write-only arguments (`*_wo`) are dropped,
since an ephemeral value may not be stored."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from deploy import artifact

from .tfconfig import RESOURCE_REF, ROOT, TF_ROOT, expressions, load

STAND_IN = '"stand-in"'
_META = {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection", "dynamic"}
_TOP_BLOCK = re.compile(r'^(resource|data|terraform|provider) [^\n]*\{\n.*?^\}\n', re.M | re.S)
_STEP = re.compile(r"\.([A-Za-z_]\w*)((?:\[[^\]]*\])?)")


def _name(data: str | None, rtype: str, name: str) -> str:
    return f"{'data__' if data else ''}{rtype}__{name}"


# A resource of a module call, by address (a `moved` block's `from`): `module.NAME.google_x.name[0]`.
_IN_MODULE = re.compile(r"(?<![\w.])(module\.\w+\.)(data\.)?((?:google|time|archive)_\w+)\.([A-Za-z_][\w-]*)")


def rewrite(text: str) -> str:
    """Every reference to a resource or data source, as one to its stand-in's object; and every
    address of one in a module call, as its stand-in's."""
    def sub(m: re.Match) -> str:
        target = f"terraform_data.{_name(m.group(1), m.group(2), m.group(3))}{m.group(4)}"
        return f"{target}.output{m.group(5)}" if m.group(5) else target
    text = _IN_MODULE.sub(lambda m: f"{m.group(1)}terraform_data.{_name(m.group(2), m.group(3), m.group(4))}", text)
    return RESOURCE_REF.sub(sub, text)


def _expr(value) -> str:
    """A python-hcl2 value (literals quoted, expressions as ${...}) as HCL expression text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        if value.startswith("${") and value.endswith("}") and not value.startswith('"'):
            return rewrite(value[2:-1])
        return rewrite(value)
    if isinstance(value, list):
        return "[" + ", ".join(_expr(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{\n" + "\n".join(f"{_key(k)} = {_expr(v)}" for k, v in value.items()
                                 if not k.startswith("__") and k not in _META and not k.endswith("_wo")) + "\n}"
    raise TypeError(value)


def _key(key: str) -> str:
    key = key.strip('"')
    return key if re.fullmatch(r"[A-Za-z_][\w-]*", key) else f'"{key}"'


def _read_paths(config) -> dict[str, list[list[tuple[str, int | None]]]]:
    """address -> the attribute paths the configuration reads from it: [(name, index or None), ...]."""
    paths: dict = {}
    for block in config.blocks:
        for text in expressions(block.raw):
            for m in RESOURCE_REF.finditer(text):
                address = _name(m.group(1), m.group(2), m.group(3))
                steps = [(s, int(i[1:-1]) if i[1:-1].isdigit() else None) for s, i in _STEP.findall(m.group(5))]
                if steps:
                    paths.setdefault(address, []).append(steps)
    return paths


def _with_stand_ins(body: dict, paths) -> dict:
    """The body, with a stand-in at the end of each path it does not already hold."""
    body = {k: v for k, v in body.items() if not k.startswith("__") and k not in _META}
    for steps in paths:
        node = body
        for i, (step, index) in enumerate(steps):
            last = i == len(steps) - 1
            if step not in node or not isinstance(node[step], (dict, list)):
                if last and index is None:
                    node.setdefault(step, STAND_IN)
                    break
                node[step] = [{} for _ in range((index or 0) + 1)] if index is not None else {}
            child = node[step]
            if isinstance(child, list):
                while index is not None and len(child) <= index:
                    child.append({})
                child = child[index or 0] if child and isinstance(child[index or 0], dict) else None
            if child is None or last:
                break
            node = child
    return body


def _stand_in(kind: str, rtype: str, name: str, raw: dict, paths) -> str:
    lines = [f'resource "terraform_data" "{_name(kind == "data", rtype, name)}" {{']
    for meta in ("count", "for_each"):
        if meta in raw:
            lines.append(f"  {meta} = {_expr(raw[meta])}")
    lines.append(f"  input = {_expr(_with_stand_ins(raw, paths))}")
    if "depends_on" in raw:
        lines.append(f"  depends_on = {_expr(raw['depends_on'])}")
    lines.append("}\n")
    return "\n".join(lines)


def stand_in_module(source: Path, target: Path) -> None:
    """Write `target`/standin.tf: the configuration in `source` with its resources stood in."""
    config = load(source)
    paths = _read_paths(config)
    parts = []
    for tf in sorted(source.glob("*.tf")):
        parts.append(rewrite(_TOP_BLOCK.sub("", tf.read_text())))
    for block in config.of("resource") + config.of("data"):
        rtype, name = block.labels
        parts.append(_stand_in(block.kind, rtype, name, block.raw, paths.get(_name(block.kind == "data", rtype, name), [])))
    target.mkdir(parents=True, exist_ok=True)
    (target / "standin.tf").write_text("\n".join(parts))
    for data in source.glob("*.json"):  # files the configuration reads (artifact.json)
        shutil.copy(data, target / data.name)


def stand_in_deployment(target: Path) -> Path:
    """A copy of the deployment in `target`: the function code, and terraform/ (the root and its
    module) stood in. Returns the root's directory."""
    target.mkdir(parents=True, exist_ok=True)
    for name in artifact.files():  # what the zip holds (deploy/artifact.py, from the module's artifact.json)
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, target / name)
    root = target / "terraform"
    stand_in_module(TF_ROOT, root)
    for module in (TF_ROOT / "modules").iterdir():
        stand_in_module(module, root / "modules" / module.name)
    return root
