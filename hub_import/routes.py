"""Where an object goes in the Hub: its destination."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Destination:
    """One Hub import target. Assets with equal destinations can share one import call.

    `batches` are batch names as the user configures them; the Hub client resolves them to ids.
    """

    project: str
    storage: str | None = None
    batches: tuple[str, ...] = ()
    priority: int = 0
