"""Where an object goes in the Hub, and whether it goes at all.

A route is a rule on the object name (a prefix or a glob) with the destination it picks:
project, storage integration, batches, priority. Routes are tried in order and the first
match wins; the plain HUB_* settings make the default route. `decide` applies the filters
first and says why an object is skipped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from .batch_templates import check_template, fill
from .metadata import overrides
from .objects import ObjectRef

if TYPE_CHECKING:
    from .config import Settings


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


@dataclass(frozen=True)
class Decision:
    """Either a destination, or the reason the object is skipped."""

    destination: Destination | None
    reason: str = ""


def decide(ref: ObjectRef, settings: "Settings", *, resolve: bool = True) -> Decision:
    """Apply the filters, then the routes, to one object. First failing filter wins.

    `resolve=False` stops at the route: no metadata overrides, no batch templates filled in. The
    flush asks that way of a queued message, whose destination ingest already resolved (a message
    queued before a template was added carries no metadata to fill it with, and must not be dropped)."""
    name = ref.name
    if name.endswith("/"):
        return Decision(None, "folder placeholder")
    if ref.bucket == settings.state_bucket and (
            ref.bucket != settings.landing_bucket or name.startswith((settings.manifest_prefix, settings.ledger_prefix))):
        return Decision(None, "the product's own state (manifests and ledger)")
    for glob in settings.exclude_globs:
        if glob_matches(glob, name):
            return Decision(None, f"excluded by EXCLUDE_GLOBS {glob!r}")
    if settings.include_globs and not any(glob_matches(g, name) for g in settings.include_globs):
        return Decision(None, "not matched by INCLUDE_GLOBS")
    if ref.size == 0 and settings.skip_empty:
        return Decision(None, "empty object")
    if settings.max_object_bytes and ref.size > settings.max_object_bytes:
        return Decision(None, f"larger than MAX_OBJECT_BYTES ({ref.size} > {settings.max_object_bytes})")
    if not type_allowed(name, ref.content_type, settings):
        return Decision(None, f"type not allowed (extension {extension(name)!r}, "
                              f"content type {ref.content_type!r})")
    for route in settings.routes:
        if route.matches(name):
            return _for_object(route.destination, ref, settings) if resolve else Decision(route.destination)
    if settings.default is None:
        return Decision(None, "no route matches and HUB_PROJECT_ID is empty")
    return _for_object(settings.default, ref, settings) if resolve else Decision(settings.default)


def _for_object(dest: Destination, ref: ObjectRef, settings: "Settings") -> Decision:
    """The route's destination made this object's own: its metadata's reserved keys override the
    route (when HUB_METADATA_OVERRIDES allows), then batch templates are filled in. A key or a
    template that cannot work skips the object with the reason."""
    try:
        fields = overrides(ref.metadata) if settings.metadata_overrides and ref.metadata else {}
        if "batches" not in fields and dest.batches:
            fields["batches"], fields["templates"] = fill(dest.batches, ref)
    except ValueError as exc:
        return Decision(None, str(exc))
    return Decision(replace(dest, **fields) if fields else dest)


def extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def type_allowed(name: str, content_type: str, settings: "Settings") -> bool:
    """A name with an extension is judged by it (when ALLOWED_EXTENSIONS is set): uploaders set
    content types carelessly (text/plain, application/octet-stream). A name without one is
    judged by its content type. Both lists empty: anything goes."""
    ext = extension(name)
    if ext and settings.allowed_extensions:
        return ext in settings.allowed_extensions
    if not settings.allowed_content_types:
        return not settings.allowed_extensions
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return any(kind == allowed or (allowed.endswith("/*") and kind.startswith(allowed[:-1]))
               for allowed in settings.allowed_content_types)
