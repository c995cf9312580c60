"""The CLI's `deletions` command (cli.py registers it): the deletions held past
MAX_DELETIONS_PER_HOUR (ops/deletions.py). `sweep --deletions` is in sweep_cli.py."""
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


def deletion_commands(commands) -> None:
    """Add `deletions` to the CLI's subcommands."""
    p = commands.add_parser("deletions", help="the deletions held past MAX_DELETIONS_PER_HOUR: count, oldest, names")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--approve", action="store_true", help="carry them out (queued again; the flush deletes them)")
    how.add_argument("--discard", action="store_true", help="keep their assets: drop the held deletions")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_deletions)
