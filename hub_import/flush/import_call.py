"""One manifest's import call: its assets sent to the Hub, and each sorted by what became of it.

`send_assets(...)` tries the whole list in one import and, where the Hub refuses part of it, narrows
down: a 400 that names assets drops them; one that names none is split in halves down to the bad
assets, unless three assets sent alone fail just as the whole did (then the request itself is at
fault and every asset fails at once: 4 calls, not about 2N); a 413 is split until the parts fit. Nothing here retries a
request whose outcome is unknown: its assets come back as `uncertain`, to be settled later.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from hub_import.core.assets import Asset
from hub_import.hub import (HubAuthError, HubClient, HubError, HubGeofencedError, HubNotFoundError,
                            HubOutcomeUnknownError, HubRedirectError, HubRejectedError, HubTooLargeError)


@dataclass
class Outcome:
    """Every asset of a send in exactly one list."""

    sent: list[Asset] = field(default_factory=list)
    failed: list[tuple[Asset, str]] = field(default_factory=list)  # with the Hub's reason
    uncertain: list[Asset] = field(default_factory=list)  # the Hub may hold them: settle before resending
    uncertain_since: float | None = None  # wall time before the first request of unknown outcome
    unsent: list[Asset] = field(default_factory=list)  # surely not in the Hub; send again later
    error: HubError | None = None  # why some are uncertain or unsent
    heal_since: float | None = None  # set by the flush: since when an import of these may still land
    stop: bool = False  # the Hub refuses this account as a whole (key, geofence, redirect): stop the flush


# Failures that concern the whole project: its manifests fail (replayable) instead of waiting.
_PROJECT_FAILURES = (HubNotFoundError,)
# Failures that concern the whole account or deployment: nothing more is sent this flush.
_ACCOUNT_FAILURES = (HubGeofencedError, HubRedirectError)


def send_assets(hub: HubClient, project: str, assets: Sequence[Asset], *, priority: int, deadline: float) -> Outcome:
    out = Outcome()
    stack: list[tuple[list[Asset], tuple | None]] = [(list(assets), None)]
    while stack:
        part, tried = stack.pop()
        if out.stop or (out.error is not None and not isinstance(out.error, HubOutcomeUnknownError)):
            out.unsent += part  # the Hub is down or refuses us: keep the rest for later
            continue
        kind, exc = tried or _try(hub, project, part, priority, deadline)
        if kind == "sent":
            out.sent += part
        elif kind == "unknown":
            out.uncertain += part
            out.uncertain_since = min(out.uncertain_since or exc.sent_at, exc.sent_at)
            out.error = exc
        elif kind == "project":
            out.failed += [(a, exc.message) for a in part]
            for rest, result in stack:  # the rest fails too, but for what was already sent or may be
                if result and result[0] == "sent":
                    out.sent += rest
                elif result and result[0] == "unknown":
                    out.uncertain += rest
                    out.uncertain_since = min(out.uncertain_since or result[1].sent_at, result[1].sent_at)
                else:
                    out.failed += [(a, exc.message) for a in rest]
            stack.clear()
        elif kind == "too_large":
            if len(part) == 1:
                out.failed.append((part[0], "the Hub refused the asset as too large (413) even on its own"))
            else:
                mid = len(part) // 2
                stack += [(part[mid:], None), (part[:mid], None)]
        elif kind == "rejected":
            _narrow(hub, project, part, exc, priority, deadline, stack, out, whole=len(part) == len(assets))
        else:  # "stop" or "later"
            out.unsent += part
            out.error = exc
            out.stop = kind == "stop"
    return out


def _narrow(hub, project, part, exc: HubRejectedError, priority, deadline, stack, out: Outcome,
            whole: bool) -> None:
    """A 400 on `part`: fail the assets it names; or, when it names none, split it in halves.

    Before splitting the whole manifest, three of its assets are sent alone (the first, the middle
    and the last): when all three fail with the same message, the request itself is at fault (a bad
    batch or priority, say) and every asset fails at once, in 4 calls instead of about 2N. Any of
    them going in shows the fault is in some assets: the halves are then narrowed down to the
    end, however many bad assets there are.
    """
    if exc.indexes:
        bad = set(exc.indexes)
        out.failed += [(a, exc.message) for i, a in enumerate(part) if i in bad]
        rest = [a for i, a in enumerate(part) if i not in bad]
        if rest:
            stack.append((rest, None))
        return
    if len(part) == 1:
        out.failed.append((part[0], exc.message))
        return
    if whole and len(part) > 3:
        picks = sorted({0, len(part) // 2, len(part) - 1})
        probes = [(i, _try(hub, project, [part[i]], priority, deadline)) for i in picks]
        if all(_same_unnamed(result, exc) for _, result in probes):
            out.failed += [(a, exc.message) for a in part]
            return
        for i, result in probes:
            stack.append(([part[i]], result))
        part = [a for i, a in enumerate(part) if i not in picks]
    mid = len(part) // 2
    stack += [(part[mid:], None), (part[:mid], None)]


def _same_unnamed(result: tuple, exc: HubRejectedError) -> bool:
    kind, other = result
    return kind == "rejected" and not other.indexes and other.message == exc.message


def _try(hub: HubClient, project: str, part: list[Asset], priority: int, deadline: float) -> tuple[str, object]:
    try:
        hub.import_assets(project, part, priority=priority, deadline=deadline)
        return "sent", None
    except HubOutcomeUnknownError as exc:
        return "unknown", exc
    except HubRejectedError as exc:
        return "rejected", exc
    except HubTooLargeError as exc:
        return "too_large", exc
    except _PROJECT_FAILURES as exc:
        return "project", exc
    except HubAuthError as exc:
        return ("project" if exc.status == 403 else "stop"), exc
    except _ACCOUNT_FAILURES as exc:
        return "stop", exc
    except HubError as exc:  # HubUnavailableError: nothing stored, the deadline came
        return "later", exc
