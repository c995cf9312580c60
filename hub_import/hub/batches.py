"""Batch names to ids, bounded in Hub calls and not only in batches created.

The ids are kept for the process, per project. A name not kept sends the caller's run (a flush, a
replay, a pass of the dead-letter inbox: one `BatchRun`) to read its project, once per run and
project: a name still missing after that read is missing for the rest of the run and is not read
for again (nor is a project whose read failed: its error stands for the run). Whether a missing
name may be created (`create`: HUB_CREATE_BATCHES) and whether its template may make one more
(`before_create`: MAX_TEMPLATE_BATCHES) are asked of every missing name of a destination before
its first creation, so a destination that cannot have its batches costs no call beyond its run's
one read. Creating is one POST per name, then one read of the project for
all of them (hub-api.md: re-read the project after creating one).

`prepare` does the same for several destinations at once (a flush's groups before it ships them):
their new names' POSTs, then one read for all.

So a run spends on batches at most one read per project, and, per destination that creates, its
new names' POSTs and one read (one read for all of those prepared together): bounded by the
batches the cap lets be made, however many distinct names an uploader's metadata gives its files.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

from hub_import.core.logs import log

from .errors import HubNotFoundError, HubUnavailableError

logger = logging.getLogger(__name__)


@dataclass
class BatchRun:
    """What one run has learned of batches: the projects it has read, and the Hub calls it spent."""

    read: set[str] = field(default_factory=set)
    failed: dict[str, Exception] = field(default_factory=dict)  # project -> why its read failed
    calls: int = 0


class BatchIds:
    """The batch ids of one Hub client (one account), by project and name, kept for the process.
    Its calls are the client's: `read_project(project, deadline)` (the project, with its batches),
    `create_one(project, name, deadline)` (one POST, never repeated blindly) and `thread_calls()`
    (the calls the calling thread has made, to count a run's)."""

    def __init__(self, read_project: Callable[[str, float | None], dict],
                 create_one: Callable[[str, str, float | None], None], thread_calls: Callable[[], int]):
        self._read_project, self._create_one, self._thread_calls = read_project, create_one, thread_calls
        self.known: dict[str, dict[str, str]] = {}  # project -> batch name -> id

    def ids(self, project: str, names: Sequence[str], *, create: bool, deadline: float | None,
            before_create: Callable[[str], None] | None, run: BatchRun) -> tuple[str, ...]:
        """The ids of `names` in `project` (see the module docstring). HubNotFoundError naming a
        missing one when `create` is off; what `before_create(name)` raises (the cap) stops every
        creation of `names`; HubUnavailableError when a creation cannot be confirmed."""
        if not names:
            return ()
        calls_before = self._thread_calls()
        try:
            missing = self._missing(project, names)
            if missing and project not in run.read:
                self._read(project, deadline, run)
                missing = self._missing(project, names)
            if missing:
                self._create(project, missing, create, deadline, before_create, run)
            known = self.known[project]
            return tuple(known[n] for n in names)
        finally:
            run.calls += self._thread_calls() - calls_before

    def prepare(self, project: str, wanted: Sequence[tuple[Sequence[str], Callable[[str], None] | None]], *,
                create: bool, deadline: float | None, run: BatchRun) -> None:
        """Make at once the missing names of several destinations of `project` (each its names and its
        `before_create`): their POSTs, then one read for all, instead of one read per destination. A
        destination whose `before_create` refuses one of its names is left out; its `ids` raises that
        again, without a call. What the Hub answers is raised; `ids` then goes on as without this."""
        calls_before = self._thread_calls()
        try:
            if not self._missing(project, [n for names, _ in wanted for n in names]):
                return
            if project not in run.read:
                self._read(project, deadline, run)
            if not create:
                return
            making: list[str] = []
            for names, before_create in wanted:
                missing = [n for n in self._missing(project, names) if n not in making]
                try:
                    for name in missing:
                        if before_create is not None:
                            before_create(name)
                except Exception:  # noqa: BLE001 - the caller's refusal; its `ids` raises it again
                    continue
                making += missing
            if making:
                self._post(project, making, deadline, run)
                self._read(project, deadline, run)
        finally:
            run.calls += self._thread_calls() - calls_before

    def _post(self, project: str, names: Sequence[str], deadline: float | None, run: BatchRun) -> None:
        """One POST per name. Until a read after them succeeds the project counts as not read in
        this run, so that no later name is taken for missing, and POSTed again blindly, on what was
        known before them (a read that failed, or never came because a POST raised)."""
        run.read.discard(project)
        for name in names:
            self._create_one(project, name, deadline)

    def _missing(self, project: str, names: Sequence[str]) -> list[str]:
        known = self.known.get(project, {})
        return [n for n in dict.fromkeys(names) if n not in known]

    def _read(self, project: str, deadline: float | None, run: BatchRun) -> None:
        if project in run.failed:
            raise run.failed[project]
        try:
            rows = self._read_project(project, deadline).get("batches")
        except Exception as exc:
            run.failed[project] = exc
            raise
        self.known[project] = {b["name"]: b["_id"] for b in (rows if isinstance(rows, list) else [])
                               if isinstance(b, dict) and isinstance(b.get("name"), str)
                               and isinstance(b.get("_id"), str)}
        run.read.add(project)

    def _create(self, project: str, missing: list[str], create: bool, deadline: float | None,
                before_create: Callable[[str], None] | None, run: BatchRun) -> None:
        if not create:
            raise HubNotFoundError(f"batch {missing[0]!r} does not exist in project {project}; "
                                   f"create it in the Hub or allow creating batches", 404)
        for name in missing:  # every name admitted before any is created: a refused one costs no call
            if before_create is not None:
                before_create(name)
        self._post(project, missing, deadline, run)
        self._read(project, deadline, run)
        known = self.known[project]
        for name in missing:
            if name not in known:
                raise HubUnavailableError(f"could not create batch {name!r} in project {project}")
            log(logger, logging.INFO, "created batch", project=project, batch=name, batch_id=known[name])
