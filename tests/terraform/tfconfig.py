"""A Terraform directory as data: python-hcl2 parses each .tf file; blocks are kept both raw (with
hcl2's block markers, for the schema check) and cleaned (quotes off, for plain assertions)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

ROOT = Path(__file__).resolve().parents[2]
TF_ROOT = ROOT / "terraform"
MODULE = TF_ROOT / "modules" / "hub-import"

# A reference to a resource or data source of the providers in use, with any index and attribute path.
RESOURCE_REF = re.compile(r"(?<![\w.])(data\.)?((?:google|time|archive)_\w+)\.([A-Za-z_][\w-]*)"
                          r"((?:\[[^\]]*\])*)((?:\.[A-Za-z_]\w*(?:\[[^\]]*\])*)*)")
NAMED_REF = re.compile(r"(?<![\w.])(var|local|module)\.(\w+)(?:\.(\w+))?")


def clean(value):
    """python-hcl2 keeps quotes around strings and labels; take them off, drop its markers
    (`__is_block__`, `__comments__`)."""
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@dataclass
class Block:
    kind: str  # resource, data, variable, output, locals, module, provider, terraform, check
    labels: tuple[str, ...]
    raw: dict
    file: str

    @property
    def body(self) -> dict:
        return clean(self.raw)

    @property
    def address(self) -> str:
        prefix = "data." if self.kind == "data" else "" if self.kind == "resource" else f"{self.kind}."
        return prefix + ".".join(self.labels)


@dataclass
class Config:
    path: Path
    blocks: list[Block] = field(default_factory=list)

    def of(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.kind == kind]

    def named(self, kind: str) -> dict[str, dict]:
        """variable/output/module name -> body; resource/data type -> name -> body."""
        out: dict = {}
        for b in self.of(kind):
            if kind in ("resource", "data"):
                out.setdefault(b.labels[0], {})[b.labels[1]] = b.body
            else:
                out[b.labels[0]] = b.body
        return out

    @property
    def resources(self) -> dict:
        return self.named("resource")

    @property
    def data(self) -> dict:
        return self.named("data")

    @property
    def variables(self) -> dict:
        return self.named("variable")

    @property
    def outputs(self) -> dict:
        return self.named("output")

    @property
    def modules(self) -> dict:
        return self.named("module")

    @property
    def locals(self) -> dict:
        merged: dict = {}
        for b in self.of("locals"):
            merged.update(b.body)
        return merged

    @property
    def text(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.path.glob("*.tf")))

    def resource(self, rtype: str, name: str) -> dict:
        return self.resources[rtype][name]


def load(path: Path) -> Config:
    """Every block of every .tf file directly in `path` (not its subdirectories)."""
    config = Config(path)
    for tf in sorted(path.glob("*.tf")):
        with tf.open() as f:
            parsed = hcl2.load(f)
        for kind, entries in parsed.items():
            for entry in entries:
                if kind in ("resource", "data"):
                    for rtype, named in entry.items():
                        for name, body in named.items():
                            config.blocks.append(Block(kind, (clean(rtype), clean(name)), body, tf.name))
                elif kind in ("variable", "output", "module", "provider", "check"):
                    for name, body in entry.items():
                        config.blocks.append(Block(kind, (clean(name),), body, tf.name))
                else:  # locals, terraform
                    config.blocks.append(Block(kind, (), entry, tf.name))
    return config


def strings(value):
    """Every string inside a parsed value, keys included."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        yield value


def expressions(value):
    """The strings that are (or interpolate) Terraform expressions."""
    return (s for s in strings(value) if "${" in s)


def references(value) -> set[str]:
    """The resources and data sources an expression names, as addresses (`google_x.name`, `data.google_y.name`)."""
    found = set()
    for text in expressions(value):
        for m in RESOURCE_REF.finditer(text):
            found.add(f"{m.group(1) or ''}{m.group(2)}.{m.group(3)}")
    return found


def dependencies(config: Config) -> dict[str, set[str]]:
    """address -> the resources and data sources it refers to or depends on, directly or through
    locals (one level of the graph; see `depends_on_transitively`)."""
    local_exprs = config.locals
    memo: dict[str, set[str]] = {}

    def via_locals(value, seen=frozenset()) -> set[str]:
        found = references(value)
        for text in expressions(value):
            for kind, name, _ in NAMED_REF.findall(text):
                if kind == "local" and name in local_exprs and name not in seen:
                    if name not in memo:
                        memo[name] = via_locals(local_exprs[name], seen | {name})
                    found |= memo[name]
        return found

    return {b.address: via_locals(b.raw) for b in config.of("resource") + config.of("data")}


def depends_on_transitively(graph: dict[str, set[str]], start: str, target: str) -> bool:
    todo, seen = [start], set()
    while todo:
        node = todo.pop()
        for nxt in graph.get(node, ()):
            if nxt == target:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False
