"""`flush` run by hand: what one flush did, in a few lines for a person (its summary's JSON is for
scripts and the scheduler, flush/summary.py; its schema: docs/json/flush.md)."""
from __future__ import annotations

import json
import sys

from hub_import.core.text import lines_for_terminal

from . import exit_codes


def cmd_flush(settings, args) -> int:
    """A summary for a person on a terminal; its JSON with --json or when stdout is not a terminal
    (the scheduler's answer; scripts and the tests read it). OK whenever the flush ran, also when
    another flush held the lease or the Hub did not answer: the summary says so."""
    from hub_import.flush.run import flush_once

    summary = flush_once(settings).to_json()
    if args.json or not sys.stdout.isatty():
        print(json.dumps(summary, indent=1))
    else:
        print(lines_for_terminal(summary_lines(summary)))
    return exit_codes.OK


def summary_lines(s: dict) -> list[str]:
    """The lines that tell a person what the flush whose summary (Summary.to_json()) is `s` did."""
    if s.get("lease_held_by"):
        until = s.get("lease_held_until") or ""
        clock = until[11:19] + "Z" if len(until) >= 19 else "it runs out"
        return [f"another flush holds the lease until {clock}; nothing done"]
    lines = [f"flush {s.get('flush_id', '?')}: pulled {s.get('pulled', 0)}, sent {s.get('sent', 0)} to the Hub "
             f"in {len(s.get('manifests') or [])} manifest(s), {s.get('found_in_hub', 0)} already there, "
             f"{s.get('skipped_by_rule', 0)} skipped by rule, {s.get('failed', 0)} failed, "
             f"{s.get('dead_lettered', 0)} dead-lettered"]
    more = [(s.get("deferred"), "deferred to a later flush"),
            (s.get("resumed_manifests"), "pending manifest(s) resumed"),
            (s.get("uncertain"), "import(s) whose answer was lost (settled later)"),
            (s.get("duplicates_removed"), "duplicate(s) removed"), (s.get("deletions"), "deletion(s) done with"),
            (s.get("deleted_assets"), "asset(s) soft-deleted")]
    said = [f"{n} {what}" for n, what in more if n]
    if said:
        lines.append("also: " + ", ".join(said))
    if s.get("hub_unavailable"):
        lines.append(f"the Hub did not answer: {s['hub_unavailable']}; what was not sent waits in the queue")
    if s.get("storage_waiting"):
        lines.append(f"nothing pulled: {s['storage_waiting']}")
    end = ("the queue is empty" if s.get("queue_empty") else
           "stopped at FLUSH_BUDGET_SECONDS; the next flush goes on" if s.get("budget_exhausted") else
           "the queue may hold more")
    lines.append(f"{end} ({s.get('hub_calls', 0)} Hub calls in {float(s.get('seconds') or 0):.1f} s)")
    return lines
