"""One flush's turn: who it is, how long it may take, and what it counts. Every part of the flush
is given the turn; it reads the clock from it and adds its counts to its summary."""
from __future__ import annotations

import math
from hub_import.core import clock
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from hub_import.core.settings import Settings

from .summary import Summary

# The most of a flush's Hub calls that settling earlier unknown outcomes may take, so that the
# queue keeps draining while a large reconcile goes on over several flushes.
RECONCILE_SHARE = 0.25


def claim_timeout_s(settings: Settings) -> float:
    """How old a claim (or a lease) must be before its flush is surely dead and done with the Hub:
    longer than any flush lives (it starts no Hub call after its budget, and waits at most
    HUB_TIMEOUT_SECONDS for one; Terraform gives the function a timeout of budget + 60 s)."""
    return 2 * settings.flush_budget_s + 10 + settings.hub_timeout_s


# The longest one Hub request can take once it has started (connecting, then waiting for the answer
# beyond HUB_TIMEOUT_SECONDS), and some margin for clocks: no request starts later than this before
# the end of the flush lease, so that a flush never sends while another holds it.
CALL_MARGIN_S = 10


def sender_lease_s(settings: Settings) -> float:
    """How long a flush (or replay) takes the flush lease for: its budget, then one last request."""
    return settings.flush_budget_s + settings.hub_timeout_s + CALL_MARGIN_S


@dataclass
class Turn:
    """The flush's id, settings, summary and I/O threads; its claim timeout (`lease_s`); its clock
    (`deadline`: no Hub call starts after it; `pull_until`: no pull starts after it), set by
    `start`; and its share of Hub calls for settling unknown outcomes (`reconcile_budget`)."""

    id: str
    settings: Settings
    summary: Summary
    pool: ThreadPoolExecutor
    lease_s: float
    reconcile_budget: int
    deadline: float = math.inf
    pull_until: float = math.inf

    @classmethod
    def of(cls, settings: Settings, flush_id: str, pool: ThreadPoolExecutor) -> "Turn":
        rpm = settings.requests_per_minute
        budget = max(5, int(RECONCILE_SHARE * settings.flush_budget_s * rpm / 60)) if rpm else 1000
        return cls(flush_id, settings, Summary(flush_id), pool, claim_timeout_s(settings), budget)

    def start(self, pull_share: bool = True) -> float:
        """Start the clock: FLUSH_BUDGET_SECONDS from now. With `pull_share`, pulling stops while a
        quarter of the budget (at most a minute) is left to send with. Returns the start."""
        started = clock.monotonic()
        budget = self.settings.flush_budget_s
        self.deadline = started + budget
        self.pull_until = self.deadline - min(60.0, budget / 4) if pull_share else self.deadline
        return started

    def hold_lease(self, until: float) -> None:
        """The flush lease is ours until `until` (wall time): no Hub call may start so late that it
        could still be under way when the lease ends (then another flush may be sending)."""
        last_start = clock.monotonic() + (until - clock.now()) - self.settings.hub_timeout_s - CALL_MARGIN_S
        self.deadline = min(self.deadline, last_start)
        self.pull_until = min(self.pull_until, self.deadline)

    def out_of_time(self) -> bool:
        return clock.monotonic() >= self.deadline

    def reconcile_calls_left(self) -> int:
        return self.reconcile_budget - self.summary.reconcile_calls
