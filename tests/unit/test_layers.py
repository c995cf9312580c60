"""The package's layers: imports flow one way, and no import closes a circle.

    ops  ->  flush | ingest  ->  state | hub  ->  core

A module may import its own folder and any layer below its own, never a layer above nor a
sibling beside it (flush and ingest run in different functions; state and hub know nothing of
each other). Every import counts: at the top of a module, inside a function, under
TYPE_CHECKING. The package's own `__init__` and `__main__` sit above everything.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "hub_import"
LAYERS = [{"ops"}, {"flush", "ingest"}, {"state", "hub"}, {"core"}]  # top first
RANK = {folder: rank for rank, folders in enumerate(LAYERS) for folder in folders}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The hub_import modules (or packages) `path` imports, resolved to absolute names."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "hub_import")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "hub_import":
                continue
            for alias in node.names:  # `from pkg import module` names a module
                sub = f"{target}.{alias.name}"
                found.add(sub if MODULES.get(sub) else target)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def folder(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def test_every_module_lives_in_a_layer():
    loose = [m for m in MODULES if folder(m) is None and m not in ("hub_import", "hub_import.__main__")]
    assert not loose, f"modules outside every layer (put each in the folder of the process that runs it): {loose}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_points_up_or_sideways(name):
    mine = folder(name)
    if mine is None:
        return  # the package itself, and `python -m hub_import`
    wrong = []
    for target in sorted(GRAPH[name]):
        theirs = folder(target)
        if theirs is None:
            wrong.append(f"{target} (the package root)")
        elif theirs != mine and RANK[theirs] <= RANK[mine]:
            wrong.append(f"{target} ({theirs}: {'beside' if RANK[theirs] == RANK[mine] else 'above'} {mine})")
    assert not wrong, f"{name} imports against the layers: {wrong}"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), or one that imports itself."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                out.append(sorted(component))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_closes_a_circle():
    # A package's __init__ that re-exports its own modules is not a circle of modules.
    graph = {m: {t for t in targets if not (MODULES[t].name == "__init__.py" and m.startswith(t + "."))}
             for m, targets in GRAPH.items()}
    assert cycles(graph) == []


def test_the_checks_see_what_they_forbid():
    # An import back up, and a circle, planted in a copy of the graph, are found.
    assert folder("hub_import.core.settings") == "core" and RANK["ops"] < RANK["core"]
    assert "hub_import.core.settings" in GRAPH["hub_import.flush.run"]
    planted = {**GRAPH, "hub_import.core.logs": GRAPH["hub_import.core.logs"] | {"hub_import.core.settings"},
               "hub_import.core.settings": GRAPH["hub_import.core.settings"] | {"hub_import.core.logs"}}
    assert any({"hub_import.core.logs", "hub_import.core.settings"} <= set(c) for c in cycles(planted))
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
