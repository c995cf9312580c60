"""Routes: where an object goes in the Hub (its `Destination`), by a rule on its name.

A route is a rule on the object name (a prefix or a glob) with the destination it picks:
project, storage integration, batches, priority. Routes are tried in order and the first
match wins; the plain HUB_* settings make the default route. `decisions.decide` applies the
filters first and says why an object is skipped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .batch_templates import check_template


@dataclass(frozen=True)
class Destination:
    """One Hub import target. Assets with equal destinations can share one import call.

    `batches` are batch names; the Hub client resolves them to ids. A route's may be templates
    (batch_templates.py); an object's destination holds the names filled in, and `templates`
    says which template (or metadata key) made each such name, so that the flush can cap how
    many batches one template creates.
    """

    project: str
    storage: str | None = None
    batches: tuple[str, ...] = ()
    priority: int = 0
    templates: tuple[tuple[str, str], ...] = ()  # (batch name, the template it was made from)

    def to_json(self) -> dict:
        body = {"project": self.project, "storage": self.storage, "batches": list(self.batches),
                "priority": self.priority}
        if self.templates:
            body["templates"] = dict(self.templates)
        return body

    @classmethod
    def from_json(cls, body: dict) -> "Destination":
        return cls(project=body["project"], storage=body.get("storage"),
                   batches=tuple(body.get("batches") or ()), priority=int(body.get("priority", 0)),
                   templates=tuple((body.get("templates") or {}).items()))


@dataclass(frozen=True)
class Route:
    """Objects whose name starts with `prefix`, or matches `glob`, go to `destination`."""

    destination: Destination
    prefix: str | None = None
    glob: str | None = None

    def matches(self, name: str) -> bool:
        if self.prefix is not None:
            return name.startswith(self.prefix)
        return glob_matches(self.glob or "", name)


def parse_routes(rules: object, default: Destination | None,
                 fallback_storage: str | None = None) -> tuple[Route, ...]:
    """HUB_ROUTES as parsed JSON -> routes. Unset fields fall back to the default route's (and an
    unset storage on `fallback_storage`, HUB_STORAGE_ID, when there is no default route).

    Raises ValueError saying which rule and field is wrong.
    """
    if not isinstance(rules, list):
        raise ValueError("expected a JSON list of route objects")
    routes = []
    for i, rule in enumerate(rules):
        where = f"route {i}"
        if not isinstance(rule, dict):
            raise ValueError(f"{where}: expected an object")
        rule = {k: v for k, v in rule.items() if v is not None}  # Terraform's jsonencode keeps unset fields as null
        unknown = set(rule) - {"prefix", "glob", "project", "storage", "batches", "priority"}
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
        if ("prefix" in rule) == ("glob" in rule):
            raise ValueError(f"{where}: give exactly one of prefix or glob")
        pattern = rule.get("prefix", rule.get("glob"))
        if not isinstance(pattern, str):
            raise ValueError(f"{where}: prefix or glob must be a string")
        project = rule.get("project") or (default.project if default else None)
        if not isinstance(project, str) or not project:
            raise ValueError(f"{where}: project is required (there is no HUB_PROJECT_ID to fall back on)")
        batches = rule.get("batches", list(default.batches) if default else [])
        if isinstance(batches, str):
            batches = [batches]
        if not isinstance(batches, list) or not all(isinstance(b, str) and b for b in batches):
            raise ValueError(f"{where}: batches must be a list of batch names")
        for batch in batches:
            try:
                check_template(batch)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        priority = rule.get("priority", default.priority if default else 0)
        if isinstance(priority, bool) or not isinstance(priority, int) or not -1000 <= priority <= 1000:
            raise ValueError(f"{where}: priority must be a whole number from -1000 to 1000")
        storage = rule.get("storage", default.storage if default else fallback_storage)
        if storage is not None and not isinstance(storage, str):
            raise ValueError(f"{where}: storage must be a storage integration id")
        if "glob" in rule:
            check_glob(pattern)
        routes.append(Route(Destination(project, storage or None, tuple(batches), priority),
                            prefix=rule.get("prefix"), glob=rule.get("glob")))
    return tuple(routes)


@lru_cache(maxsize=256)
def _glob_regex(glob: str) -> re.Pattern:
    """`**` any run of characters, `*` any within one path segment, `?` one character but `/`,
    `[...]` a character class; everything else literal."""
    out, i = [], 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and "]" in glob[i + 2:]:
            end = glob.index("]", i + 2)
            body = glob[i + 1:end]
            negate = body[0] in "!^"
            body = (body[1:] if negate else body).replace("\\", "\\\\").replace("[", "\\[")
            out.append("[" + ("^" if negate else "") + body + "]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def check_glob(glob: str) -> str:
    """`glob` if it compiles; ValueError saying why not (such as a range `[z-a]`)."""
    try:
        _glob_regex(glob)
    except re.error as exc:
        raise ValueError(f"glob {glob!r} is malformed: {exc}") from None
    return glob


def glob_matches(glob: str, name: str) -> bool:
    return _glob_regex(glob).match(name) is not None
