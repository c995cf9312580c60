"""Whether an unpacked artifact carries every import its modules would run (deploy/artifact.py).

`imports` reads every module: its import statements at the top, inside functions and under `try`
(but not under `if TYPE_CHECKING:`, never run, nor in a `try` that catches ImportError, which is
optional by design), and the calls importing a literal name (`importlib.import_module`,
`__import__`). `missing` looks each one up: the artifact's own modules in it, everything else in
the functions' virtualenv, whole (`google.cloud.bigquery`, not only the namespace `google`), and
each name of `from module import name` as a submodule or an attribute.
"""
from __future__ import annotations

import ast
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path


class ArtifactError(RuntimeError):
    """The artifact cannot be built, installed or run; the message says what is missing."""


@dataclass(frozen=True)
class Import:
    module: str  # the absolute module name
    names: tuple[str, ...]  # for `from module import a, b`: a, b (each a submodule or a name)
    where: str  # "hub_import/flush/run.py:12"


def imports(source: Path) -> list[Import]:
    """Every import the modules under `source` would run, at the top or inside a function; not
    those under `if TYPE_CHECKING:` (never run) or in a `try` that catches ImportError (optional)."""
    found = []
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source)
        package = list(relative.parent.parts)  # a module's package, or an __init__'s own
        for node in _runtime_nodes(ast.parse(path.read_bytes(), str(relative))):
            where = f"{relative.as_posix()}:{node.lineno}"
            if isinstance(node, ast.Import):
                found += [Import(alias.name, (), where) for alias in node.names]
            elif node.level == 0:
                found.append(Import(node.module, tuple(a.name for a in node.names), where))
            else:
                base = package[:len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
                found.append(Import(module, tuple(a.name for a in node.names), where))
    return found


DYNAMIC = ("importlib.import_module", "import_module", "__import__")
TYPE_ONLY = ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _runtime_nodes(tree: ast.AST):
    """The import statements that run, and the calls importing a literal name (import_module,
    __import__), in the order ast.walk meets them."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in TYPE_ONLY:
            skip.update(id(n) for child in node.body for n in ast.walk(child))
        if isinstance(node, ast.Try) and any(
                h.type is not None and {"ImportError", "ModuleNotFoundError"} & set(ast.unparse(h.type).replace(
                    "(", " ").replace(")", " ").replace(",", " ").split()) for h in node.handlers):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif (isinstance(node, ast.Call) and ast.unparse(node.func) in DYNAMIC and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and not node.args[0].value.startswith(".")):
            yield ast.Import(names=[ast.alias(node.args[0].value)], lineno=node.lineno)


# Run in the functions' virtualenv: which of [module, names, where] cannot be imported there. A
# module must be found whole (google.cloud.bigquery, not only the namespace `google`), and each
# name of `from module import name` be a submodule or an attribute of it.
PROBE = """
import importlib, importlib.util, json, sys

def found(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False

def has(module, name):
    if found(module + "." + name):
        return True
    try:
        return hasattr(importlib.import_module(module), name)
    except Exception:
        return False

absent = []
for module, names, where in json.loads(sys.stdin.read()):
    if not found(module):
        absent.append([where, module])
    else:
        absent += [[where, module + "." + n] for n in names if n != "*" and not has(module, n)]
print(json.dumps(absent))
"""


def missing(source: Path, bin_dir: Path) -> list[str]:
    """What the unpacked artifact at `source` imports and cannot find, one line each ([] when
    nothing is missing). Its own modules are looked up in it; everything else in the virtualenv
    at `bin_dir`, isolated from this repository and from PYTHONPATH."""
    own = {p.relative_to(source).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
           for p in source.rglob("*.py")}
    tops = {m.split(".")[0] for m in own}
    problems, outside = [], {}
    for imp in imports(source):
        if imp.module.split(".")[0] not in tops:
            outside.setdefault((imp.module, imp.names), imp.where)
            continue
        if imp.module not in own:
            problems.append(f"{imp.where} imports {imp.module}, which the artifact does not hold")
            continue
        for name in imp.names:
            if name != "*" and f"{imp.module}.{name}" not in own and name not in _defined(source, imp.module):
                problems.append(f"{imp.where} imports {imp.module}.{name}, which the artifact does not hold")
    done = subprocess.run([str(bin_dir / "python"), "-I", "-c", PROBE], capture_output=True, text=True, cwd=bin_dir,
                          input=json.dumps([[m, list(n), w] for (m, n), w in sorted(outside.items())]))
    if done.returncode != 0:
        raise ArtifactError(f"cannot run the functions' virtualenv at {bin_dir}: {done.stderr.strip()[-500:]}")
    problems += [f"{where} imports {name}, which neither the artifact holds nor requirements.txt installs"
                 for where, name in json.loads(done.stdout.strip().splitlines()[-1])]
    return problems


def _defined(source: Path, module: str) -> set[str]:
    """The names a package's __init__ (or a module) binds at its top level."""
    path = source / module.replace(".", "/")
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    names = set()
    for node in ast.parse(path.read_bytes()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names
