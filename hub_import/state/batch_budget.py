"""The cap on batches a template creates, so that a runaway template (a field that is new on every
file) fails its manifests visibly instead of flooding the project with batches.

Per project and template, one small document in the state bucket, LEDGER_PREFIX/batch-templates/
<hash>.json = {"project", "template", "names": [...]}, holds the distinct names the template has
had created. It is kept beside the ledger (never aged out) and changed only by compare-and-swap,
so two flushes at once cannot both take the last place. A name is counted before its batch is
created: one whose creation then fails stays counted, and is not counted again.
"""
from __future__ import annotations

import hashlib
from hub_import.core import clock

from .store import JsonStore, update

ATTEMPTS = 20  # compare-and-swap rounds before giving up (one flush at a time holds the lease)


class TemplateCapError(Exception):
    """Creating this batch would take its template past MAX_TEMPLATE_BATCHES."""


class BatchBudget:
    def __init__(self, store: JsonStore, prefix: str, cap: int):
        self.store, self.prefix, self.cap = store, prefix, cap

    def path(self, project: str, template: str) -> str:
        key = hashlib.sha256(f"{project}\n{template}".encode()).hexdigest()
        return f"{self.prefix}batch-templates/{key}.json"

    def names(self, project: str, template: str) -> list[str]:
        doc = self.store.read(self.path(project, template))
        return list(doc.body.get("names", [])) if doc else []

    def admit(self, project: str, template: str, name: str) -> None:
        """Count `name` as created by `template` in `project`, unless counted already; raises
        TemplateCapError when the template has made as many as the cap allows, ConflictError when
        the document keeps changing under us (the caller tries again later)."""
        path = self.path(project, template)
        def counted(doc) -> dict | None:
            names = list(doc.body.get("names", [])) if doc else []
            if name in names:
                return None
            if len(names) >= self.cap:
                raise TemplateCapError(
                    f"batch template {template!r} has created {len(names)} batches in project {project}, the most "
                    f"MAX_TEMPLATE_BATCHES={self.cap} allows; {name!r} would be one more (raise the cap, or "
                    f"fix the template, then `replay --failed`)")
            return {"project": project, "template": template, "names": names + [name], "at": clock.now()}
        update(self.store, path, counted, ATTEMPTS)
