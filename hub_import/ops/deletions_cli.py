"""The CLI's deletion commands (cli.py registers them): `deletions` (the deletions held past
MAX_DELETIONS_PER_HOUR, ops/deletions.py) and `sweep --deletions` (ops/deletion_sweep.py)."""
from __future__ import annotations

import json
import sys

from hub_import.core.text import for_terminal


def cmd_deletions(settings, args) -> int:
    from hub_import.core.clients import publisher_client, storage_client
    from hub_import.state.store import JsonStore

    from . import deletions

    store = JsonStore(storage_client().bucket(settings.state_bucket))
    if args.approve or args.discard:
        report = deletions.approve(settings, store, publisher_client()) if args.approve else \
            deletions.discard(settings, store)
        print(json.dumps(report.to_json(), indent=1) if args.json else for_terminal(report.line()))
        if args.approve and not settings.delete_follows:
            print("note: ON_DELETE is not delete, so the flush keeps these assets (ignored) and drops them",
                  file=sys.stderr)
        return 1 if report.failed else 0
    report = deletions.held(settings, store)
    print(json.dumps(report.to_json(), indent=1) if args.json else "\n".join(for_terminal(x) for x in report.lines()))
    return 0


def cmd_sweep(settings, args) -> int:
    from hub_import.core.clients import publisher_client, storage_client
    from hub_import.state.store import JsonStore

    from .deletion_sweep import sweep_deletions

    if not args.deletions:
        print("sweep: give --deletions (queue the deletions of sent files gone from the bucket)", file=sys.stderr)
        return 2
    if not settings.delete_follows or not settings.landing_bucket:
        print("sweep --deletions: needs ON_DELETE=delete and LANDING_BUCKET", file=sys.stderr)
        return 2
    report = sweep_deletions(settings, JsonStore(storage_client().bucket(settings.state_bucket)), storage_client(),
                             publisher_client(), dry_run=args.dry_run)
    print(json.dumps(report.to_json(), indent=1) if args.json else report.line()
          + (" (dry run: nothing queued)" if args.dry_run else ""))
    return 1 if report.failed else 0


def deletion_commands(commands) -> None:
    """Add `deletions` and `sweep` to the CLI's subcommands."""
    p = commands.add_parser("deletions", help="the deletions held past MAX_DELETIONS_PER_HOUR: count, oldest, names")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--approve", action="store_true", help="carry them out (queued again; the flush deletes them)")
    how.add_argument("--discard", action="store_true", help="keep their assets: drop the held deletions")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_deletions)

    p = commands.add_parser("sweep", help="--deletions: queue the deletions of sent files gone from the landing bucket")
    p.add_argument("--deletions", action="store_true", help="ledger records of sent files whose object is gone: "
                                                              "their deletions queued, through the guard")
    p.add_argument("--dry-run", action="store_true", help="count; queue nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_sweep)
