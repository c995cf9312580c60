"""`status` as text: its first line (Status.headline), then one section after another (SECTIONS)."""
from __future__ import annotations

from hub_import.core import clock
from hub_import.core.text import lines_for_terminal
from hub_import.state.health import NOTHING_PULLED
from hub_import.state.manifests import FAILED, PENDING, SENT

from .health_view import age, short_time

STATES = (SENT, PENDING, "pending, settling", FAILED, "failed, replayed")


def _age(created: float) -> str:
    seconds = int(clock.now() - created)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def _flow_lines(result: Status) -> list[str]:
    """The backlog, the oldest waiting file and the last flush, from the health record."""
    record = result.health.record if result.health else None
    if record is None:
        return []
    backlog = record.get("backlog")
    lines = [f"backlog: {backlog} message(s) ({record.get('backlog_says')}, as of "
             f"{short_time(record.get('backlog_as_of'))})" if backlog is not None else
             f"backlog: {record.get('backlog_says') or 'unknown'}"
             + (f"; at least {record['waiting_at_least']} known to wait" if record.get("waiting_at_least") else "")]
    oldest = clock.epoch(record.get("oldest_waiting_published"))
    unknown = record.get("backlog") is None and str(record.get("waiting_why") or "").startswith(NOTHING_PULLED)
    lines.append(f"oldest waiting: published {clock.iso(oldest)} ({age(clock.now() - oldest)} ago)" if oldest else
                 "oldest waiting: unknown (nothing was pulled)" if unknown else "oldest waiting: none known")
    lines.append(f"last flush: {clock.iso(record.get('at'))}: pulled {record.get('pulled')}, sent {record.get('sent')}"
                 f", deferred {record.get('deferred')}"
                 + (f"; {record['waiting_why']}" if record.get("waiting_why") else ""))
    return lines


def _last_import_lines(result: Status) -> list[str]:
    i = result.last_import
    return [f"last import: {clock.iso(i['at'])} ({age(clock.now() - i['at'])} ago, {i['assets']} asset(s) in "
            f"{i['manifest']})" if i else "last import: none"]


def _storage_lines(result: Status) -> list[str]:
    if not result.storage:
        return []
    since = f" (since {clock.iso(result.storage['since'])})" if result.storage.get("since") else ""
    return [f"storage: {result.storage['says']}{since}"]


def _manifest_lines(result: Status) -> list[str]:
    lines = ["manifests          count   assets"]
    for state in STATES:
        lines.append(f"{state:<18}{result.manifests.get(state, 0):>7}  {result.assets.get(state, 0):>7}")
    if result.oldest_pending:
        p = result.oldest_pending
        lines.append(f"oldest pending: {p['manifest']} ({_age(p['created_at'])} old, {p['assets']} assets, "
                     f"{p['attempts']} attempts; {p['error']})")
    else:
        lines.append("oldest pending: none")
    return lines


def _dead_letter_lines(result: Status) -> list[str]:
    backlog = f"unknown ({result.dead_letters_unread})" if result.dead_letter_backlog is None else \
        f"{result.dead_letter_backlog}{'+' if result.dead_letters_more else ''}"
    lines = [f"dead-letter backlog: {backlog}"
             + ("  (replay --dead-letters brings back what can go now)" if result.dead_letter_backlog else "")]
    for d in result.dead_letters[:20]:
        lines.append(f"  {d['count']:>5}  {d['reason']}  e.g. {d['example']}")
    if result.dead_letters_owed:
        lines.append(f"dead letters owed: {result.dead_letters_owed}  (rejected files whose dead letter Pub/Sub did not "
                     "confirm yet: each flush sends them again; their failed manifests below, replay --failed)")
    return lines


def _failed_lines(result: Status) -> list[str]:
    if not result.failed_assets:
        return []
    return ["failed assets:"] + [f"  {a['object']}  ({a['reason']})  in {a['manifest']}" for a in result.failed_assets]


def _held_deletion_lines(result: Status) -> list[str]:
    if not result.held_deletions:
        return []
    return [f"deletions held: {result.held_deletions}  (over MAX_DELETIONS_PER_HOUR: `deletions` lists them, "
            "`deletions --approve` carries them out, `--discard` keeps the assets)"]


def _sweep_lines(result: Status) -> list[str]:
    from hub_import.state.sweep_state import sweep_line

    return [sweep_line(result.sweep)] if result.sweep else []


# What `status` shows after its first line (Status.headline), in order: each takes the Status and
# gives its lines. A part of the product with state of its own to show (held deletions, the last
# sweep) adds its provider here, what needs a person to Status.problems, and its JSON under a key
# of its own in Status.to_json (docs/json/status.md).
SECTIONS = [_storage_lines, _flow_lines, _last_import_lines, _manifest_lines, _dead_letter_lines, _held_deletion_lines,
            _sweep_lines, _failed_lines]


def status_table(result: Status) -> str:
    lines = [result.headline()] if result.health else []
    for section in SECTIONS:
        lines += section(result)
    return lines_for_terminal(lines)
