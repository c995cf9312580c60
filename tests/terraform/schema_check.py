"""Check a Terraform configuration against provider schemas, as `terraform validate` would if a
provider could be downloaded here: unknown resource and data source types, unknown arguments and
blocks at any depth, arguments written as blocks, missing required arguments and blocks, and
references to attributes a resource does not export; plus the configuration's own names
(variables, locals, module calls and their outputs)."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .tfconfig import NAMED_REF, RESOURCE_REF, Config, expressions, load

META_ARGUMENTS = {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"}
_ARG, _REQ = {"required": False, "block": None}, {"required": True, "block": None}

# Not google: the two small schemas of hashicorp/time and hashicorp/archive that the module uses,
# kept by hand from their registry docs (time 0.13, archive 2.7).
HAND_KEPT = {
    "resource": {
        "time_sleep": {"args": {"create_duration": _ARG, "destroy_duration": _ARG, "triggers": _ARG},
                       "attrs": dict.fromkeys(["id", "create_duration", "destroy_duration", "triggers"])},
    },
    "data": {
        "archive_file": {
            "args": {"type": _REQ, "output_path": _REQ, "output_file_mode": _ARG, "source_content": _ARG,
                     "source_content_filename": _ARG, "source_file": _ARG, "source_dir": _ARG, "excludes": _ARG,
                     "exclude_symlink_directories": _ARG,
                     "source": {"required": False, "block": {"content": _REQ, "filename": _REQ}}},
            "attrs": dict.fromkeys(["id", "type", "output_path", "source_dir", "source_file", "output_md5", "output_sha", "output_sha256", "output_sha512",
                                    "output_base64sha256", "output_base64sha512", "output_size"]),
        },
    },
}


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    types: set = field(default_factory=set)  # (kind, type) checked
    blocks: int = 0  # resource and data blocks checked
    arguments: int = 0  # arguments and nested blocks checked, at every depth
    references: int = 0  # attribute references checked
    by_hand: set = field(default_factory=set)  # types checked against HAND_KEPT, not the provider package


def _is_block(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


def _hint(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _check_body(body: dict, args: dict, where: str, report: Report, top: bool) -> None:
    present = set()
    for key, value in body.items():
        if key.startswith("__") or (top and key in META_ARGUMENTS):
            continue
        if key == "dynamic":
            for entry in value:
                for label, dyn in entry.items():
                    name = label.strip('"')
                    content = next((c for c in dyn.get("content", []) if isinstance(c, dict)), {})
                    _check_one(name, [content], args, where, report)
                    present.add(name)
            continue
        _check_one(key, value, args, where, report)
        present.add(key)
    for name, spec in args.items():
        if spec["required"] and name not in present:
            kind = "block" if spec["block"] is not None else "argument"
            report.problems.append(f"{where}: missing required {kind} `{name}`")


def _check_one(key: str, value, args: dict, where: str, report: Report) -> None:
    report.arguments += 1
    if key not in args:
        report.problems.append(f"{where}: unknown argument or block `{key}`{_hint(key, args)}")
        return
    spec = args[key]
    if _is_block(value):
        if spec["block"] is None:
            report.problems.append(f"{where}: `{key}` is an argument, not a block (write `{key} = ...`)")
            return
        for item in value:
            _check_body(item, spec["block"], f"{where}.{key}", report, top=False)
    elif spec["block"] is not None and (isinstance(value, dict) or (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value))):
        report.problems.append(f"{where}: `{key}` is a block (write `{key} {{ ... }}`)")


def _spec(schema: dict, kind: str, rtype: str, report: Report):
    if rtype.startswith("google_"):
        return schema[kind].get(rtype)
    spec = HAND_KEPT[kind].get(rtype)
    if spec:
        report.by_hand.add((kind, rtype))
    return spec


def _check_references(config: Config, schema: dict, report: Report) -> None:
    declared = {b.address: b for b in config.of("resource") + config.of("data")}
    for block in config.blocks:
        if block.kind == "moved":
            continue  # addresses, not expressions: _check_moved
        for text in expressions(block.raw):
            for m in RESOURCE_REF.finditer(text):
                kind = "data" if m.group(1) else "resource"
                address = f"{m.group(1) or ''}{m.group(2)}.{m.group(3)}"
                where = f"{block.file}: {block.address}"
                if address not in declared:
                    report.problems.append(f"{where}: refers to `{address}`, which is not declared")
                    continue
                spec = _spec(schema, kind, m.group(2), report)
                if not spec:
                    continue
                report.references += 1
                attrs = spec["attrs"]
                for step in re.findall(r"\.([A-Za-z_]\w*)", m.group(5)):
                    if attrs is None:
                        break  # a map, list or scalar: what follows is data, not schema
                    if step not in attrs:
                        report.problems.append(f"{where}: `{address}{m.group(4)}{m.group(5)}`: "
                                               f"`{step}` is not an attribute it exports{_hint(step, attrs)}")
                        break
                    attrs = attrs[step]


def _check_names(config: Config, report: Report) -> None:
    variables, outputs = set(config.variables), set(config.outputs)
    local_names = set(config.locals)
    modules = {name: load((config.path / body["source"]).resolve())
               for name, body in config.modules.items() if str(body.get("source", "")).startswith(".")}
    for block in config.blocks:
        if block.kind == "moved":
            continue
        where = f"{block.file}: {block.address}"
        for text in expressions(block.raw):
            for kind, name, attr in NAMED_REF.findall(text):
                if kind == "var" and name not in variables:
                    report.problems.append(f"{where}: `var.{name}` is not declared")
                elif kind == "local" and name not in local_names:
                    report.problems.append(f"{where}: `local.{name}` is not declared")
                elif kind == "module" and name in modules and attr and attr not in modules[name].outputs:
                    report.problems.append(f"{where}: module `{name}` has no output `{attr}`")
    for name, child in modules.items():
        given = set(config.modules[name]) - {"source", "version", "providers", "depends_on", "count", "for_each"}
        wanted = child.variables
        for arg in sorted(given - set(wanted)):
            report.problems.append(f"module `{name}`: `{arg}` is not a variable of {child.path.name}{_hint(arg, wanted)}")
        for var, body in wanted.items():
            if "default" not in body and var not in given:
                report.problems.append(f"module `{name}`: missing required variable `{var}`")


def _check_moved(config: Config, report: Report) -> None:
    """A `moved` block goes to a resource declared here, from one of a module this configuration calls."""
    declared = {b.address for b in config.of("resource") + config.of("data")}
    for block in config.of("moved"):
        body = block.body
        source, target = (re.sub(r"\[[^\]]*\]", "", body[k].strip("${}")) for k in ("from", "to"))
        if target not in declared:
            report.problems.append(f"{block.file}: moved to `{target}`, which is not declared")
        module = re.match(r"module\.(\w+)\.(.+)$", source)
        if module and module.group(1) not in config.modules:
            report.problems.append(f"{block.file}: moved from `{source}`: no module call `{module.group(1)}`")
        elif not module and source not in declared and source == target:
            report.problems.append(f"{block.file}: moved from `{source}` to itself")


def check(path: Path, schema: dict) -> Report:
    """Check the configuration in `path` (and, through its module calls, nothing more: check each
    module directory on its own)."""
    config = load(path)
    report = Report()
    for block in config.of("resource") + config.of("data"):
        rtype = block.labels[0]
        where = f"{block.file}: {block.address}"
        spec = _spec(schema, block.kind, rtype, report)
        if spec is None:
            known = schema[block.kind] if rtype.startswith("google_") else HAND_KEPT[block.kind]
            report.problems.append(f"{where}: unknown {block.kind} type `{rtype}`{_hint(rtype, known)}")
            continue
        report.types.add((block.kind, rtype))
        report.blocks += 1
        _check_body(block.raw, spec["args"], where, report, top=True)
    _check_references(config, schema, report)
    _check_names(config, report)
    _check_moved(config, report)
    return report
