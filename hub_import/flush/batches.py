"""The batch ids of a flush's destinations (hub/batches.py), bounded in Hub calls: one read of each
project per flush, however many names its objects carry; the creation setting (HUB_CREATE_BATCHES)
and the cap on what a template makes (MAX_TEMPLATE_BATCHES) asked before any creation; the calls
spent counted into the summary (`batch_calls`). The groups a flush ships together have their new
batches made together (`prepare`): one read after all their creations. A replay or a pass of the dead-letter inbox uses
its flush's, and is bounded alike."""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Iterable

from hub_import.core.logs import log
from hub_import.core.routes import Destination
from hub_import.hub import BatchRun, HubClient, HubError
from hub_import.state.batch_budget import BatchBudget

from .turn import Turn

logger = logging.getLogger(__name__)


class Batches:
    """Owns what the flush (`turn`) has learned of batches (`run`: the projects read, the calls)."""

    def __init__(self, turn: Turn, hub: HubClient, budget: BatchBudget):
        self.turn, self.hub, self.budget = turn, hub, budget
        self.run = BatchRun()

    def ids(self, dest: Destination, deadline: float | None = None) -> tuple[str, ...]:
        """The ids of `dest`'s batches, created when allowed. HubNotFoundError (one missing, creation
        off), TemplateCapError (a template past the cap): the destination cannot work as configured;
        HubError, ConflictError (the budget's document kept changing): try again later."""
        try:
            return self.hub.batch_ids(dest.project, dest.batches, create=self.turn.settings.create_batches,
                                      deadline=self.turn.deadline if deadline is None else deadline,
                                      before_create=batch_guard(self.budget, dest), run=self.run)
        finally:
            self.turn.summary.batch_calls = self.run.calls

    def prepare(self, dests: Iterable[Destination]) -> None:
        """Make the missing batches of `dests` together, one project read after all of them; what
        fails is left to `ids`, destination by destination (a failed read is not repeated)."""
        by_project: dict[str, list[Destination]] = defaultdict(list)
        for dest in dests:
            if dest.batches:
                by_project[dest.project].append(dest)
        for project, group in by_project.items():
            try:
                self.hub.prepare_batches(project, [(d.batches, batch_guard(self.budget, d)) for d in group],
                                         create=self.turn.settings.create_batches, deadline=self.turn.deadline,
                                         run=self.run)
            except HubError as exc:
                log(logger, logging.WARNING, f"preparing batches for {project} failed: {exc}", flush_id=self.turn.id,
                    project=project)
            finally:
                self.turn.summary.batch_calls = self.run.calls


def batch_guard(budget: BatchBudget, dest: Destination):
    """For HubClient.batch_ids: counts each batch a template of `dest` is about to create against
    the cap (TemplateCapError past it); None when `dest` has no templated names."""
    made = dict(dest.templates)
    if not made:
        return None

    def before_create(name: str) -> None:
        if name in made:
            budget.admit(dest.project, made[name], name)
    return before_create
