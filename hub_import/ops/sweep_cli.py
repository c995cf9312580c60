"""The CLI's `sweep` command (cli.py registers it): one sweep of the landing bucket for files
whose event was lost, as the scheduled sweep runs it (hub_import/ingest/sweep.py), or with
`--deletions` the deletion sweep: sent files gone from the bucket (ops/deletion_sweep.py)."""
from __future__ import annotations

import json
import sys

from hub_import.core.text import for_terminal


def sweep_json(report) -> dict:
    """One files sweep (SweepReport) as docs/json/sweep.md has it: times ISO 8601 UTC, null for nothing."""
    from hub_import.core import clock

    return {**report.to_json(), "at": clock.iso(report.at), "stopped": report.stopped or None,
            "last_complete_at": clock.iso(report.last_complete_at), "first_at": clock.iso(report.first_at)}


def sweep_summary(report: dict) -> str:
    """One files sweep (SweepReport.to_json) in one line."""
    line = (f"sweep: {report['listed']} listed, {report['known']} already known, {report['queued']} queued as "
            f"missed, {report['young']} younger than the grace, {report['older']} checked by an earlier pass, "
            f"{report['skipped']} skipped by the rules; {report['list_calls']} list calls, "
            f"{report['ledger_reads']} ledger reads, {report['seconds']:.1f} s")
    if not report["complete"]:
        line += f"; stopped ({report['stopped'] or 'not done'}): the pass goes on at the next sweep"
    if report["queued"]:
        line += "; events are being lost: check the trigger (Eventarc) and the ingest function's errors"
    return line


def cmd_sweep(settings, args) -> int:
    from hub_import.core.clients import publisher_client, storage_client
    from hub_import.state.store import JsonStore

    if not args.deletions:
        if args.dry_run:
            print("sweep: --dry-run is for --deletions (a files sweep queues only what no event brought)",
                  file=sys.stderr)
            return 2
        if not settings.landing_bucket:
            print("sweep: needs LANDING_BUCKET", file=sys.stderr)
            return 2
        from hub_import.ingest.sweep import sweep_once

        report = sweep_json(sweep_once(settings))
        print(json.dumps(report, indent=1) if args.json else for_terminal(sweep_summary(report)))
        return 0
    from .deletion_sweep import sweep_deletions

    if not settings.delete_follows or not settings.landing_bucket:
        print("sweep --deletions: needs ON_DELETE=delete and LANDING_BUCKET", file=sys.stderr)
        return 2
    report = sweep_deletions(settings, JsonStore(storage_client().bucket(settings.state_bucket)), storage_client(),
                             publisher_client(), dry_run=args.dry_run)
    print(json.dumps(report.to_json(), indent=1) if args.json else report.line()
          + (" (dry run: nothing queued)" if args.dry_run else ""))
    return 1 if report.failed else 0


def sweep_command(commands) -> None:
    """Add `sweep` to the CLI's subcommands."""
    p = commands.add_parser("sweep", help="list the landing bucket once for files whose event was lost and queue "
                            "them, as the scheduled sweep does (SWEEP_GRACE_SECONDS; resumes at its cursor); "
                            "--deletions: queue the deletions of sent files gone from the landing bucket")
    p.add_argument("--deletions", action="store_true", help="ledger records of sent files whose object is gone: "
                                                              "their deletions queued, through the guard")
    p.add_argument("--dry-run", action="store_true", help="with --deletions: count; queue nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_sweep)
