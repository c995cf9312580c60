"""`hub-import <command>` (or `python -m hub_import <command>`): operate the product from a shell.

    backfill gs://BUCKET[/PREFIX] [--since DATE] [--dry-run]   queue objects already in a bucket
    replay [MANIFEST ...] [--failed] [--since DATE]            send failed or stuck manifests again
    replay --dead-letters [--dry-run]                          bring dead letters back once their cause is fixed
    status [--since DATE] [--json] [--exit-code]               the pipeline's health, and the import history
    audit [--project P] [--since DATE] [--fix] [--json]       what we sent against what the Hub holds
    trace gs://BUCKET/NAME [--since DATE] [--json]             one file's whole story, and a verdict
    check [--json]                                             reach every dependency once
    storages [--json]                                          the organization's Hub storage integrations
    flush [--json]                                             one flush, as the scheduler runs it
    sweep [--json]                                             one sweep for files whose event was lost
    deletions [--approve | --discard] [--json]                 deletions held past MAX_DELETIONS_PER_HOUR
    sweep --deletions [--dry-run] [--json]                     queue the deletions of sent files gone from the bucket

Reads the same environment variables as the functions (`. .local/stack.env` for the local
stack; on GCP, export them and use application-default credentials); `--set NAME=VALUE`, before
or after the command, overrides one for this run. The Hub API key never goes on a command line
(`--set HUB_API_KEY` is refused): export HUB_API_KEY, or give `--api-key-file PATH` or
`--api-key-secret NAME` (Secret Manager). An error is one line on stderr; --debug adds its traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from hub_import.core import logs
from hub_import.core import settings as config
from hub_import.core.text import for_terminal

from . import exit_codes
from .cli_args import Parser, add_global_options, positive, sets, since
from .cli_env import CliEnvError, check_argv, environment
from .cli_errors import guarded
from .flush_report import cmd_flush

# trace verdicts that need a person: `trace` exits PROBLEMS on them
TRACE_PROBLEMS = frozenset({"failed", "dead_lettered", "duplicated", "missing", "held"})
from .deletions_cli import deletion_commands
from .sweep_cli import sweep_command


def say(line: str, file=None) -> None:
    """Print one line for a person: names and the Hub's words in it cannot drive the terminal
    (core/text.py for_terminal). --json output goes out as json.dumps writes it (all ASCII)."""
    print(for_terminal(line), file=file)


def _flush(settings):
    from hub_import.core.clients import publisher_client, storage_client, subscriber_client
    from hub_import.flush.run import Flush, hub_client
    from hub_import.state.store import JsonStore

    store = JsonStore(storage_client().bucket(settings.state_bucket))
    return Flush(settings, hub_client(settings), store, subscriber_client(), publisher_client())


def cmd_backfill(settings, args) -> int:
    from .backfill import Progress, backfill, parse_since
    from .backfill_plan import dry_run_lines

    ledger = None
    if args.dry_run:  # each file judged against the ledger too (backfill_plan.py)
        from hub_import.core.clients import storage_client
        from hub_import.state.ledger import Ledger
        from hub_import.state.store import JsonStore

        ledger = Ledger(JsonStore(storage_client().bucket(settings.state_bucket)), settings.ledger_prefix,
                        settings.each_generation)
    try:
        report = backfill(settings, args.target, since=parse_since(args.since), dry_run=args.dry_run,
                          workers=args.workers, progress=Progress(None), ledger=ledger)
    except ValueError as exc:  # a target that is not the landing bucket's
        print(f"FAIL backfill: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
        return 0
    if args.dry_run:
        for line in dry_run_lines(report):
            say(line)
        return 0
    say(f"{report.listed} objects listed, {report.queued} queued, {report.skipped} skipped "
        f"in {report.seconds:.1f} s")
    return 0


def cmd_replay(settings, args) -> int:
    from hub_import.core.clients import subscriber_client

    from .backfill import parse_since
    from .replay import manifest_paths, replay

    flush = _flush(settings)
    if args.dead_letters:
        return _replay_dead_letters(flush, args)
    try:
        paths = args.manifests or manifest_paths(flush, failed=args.failed, since=parse_since(args.since))
        if not paths:
            print(json.dumps({"dry_run": args.dry_run, "manifests": [], "dead_letters_acked": 0}) if args.json
                  else "nothing to replay")
            return 0
        report = replay(flush, paths, dry_run=args.dry_run, inbox=None if args.dry_run else subscriber_client())
    finally:
        flush.pool.shutdown()
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        for line in report.lines():
            say(line)
    return 0


def _replay_dead_letters(flush, args) -> int:
    from hub_import.core.clients import publisher_client, subscriber_client

    from .dead_letter_inbox import bring_back

    try:
        report = bring_back(flush, subscriber_client(), publisher_client(), dry_run=args.dry_run)
    finally:
        flush.pool.shutdown()
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
        return 0
    verb = "would republish" if args.dry_run else "republished"
    say(f"{report.republished} {verb}, {report.already_in_hub} already in the Hub"
        f"{' (would be acked)' if args.dry_run else ' (acked)'}, {sum(report.kept.values())} kept:")
    for k in report.to_json()["kept"]:
        say(f"  {k['count']:>5}  {k['reason']}  e.g. {k['example']}")
    if args.dry_run:
        print("(dry run: nothing was published or acked)")
    return 0


def cmd_status(settings, args) -> int:
    from hub_import.core.clients import storage_client, subscriber_client
    from hub_import.state.store import JsonStore

    from .backfill import parse_since
    from .status import status, status_table

    result = status(settings, JsonStore(storage_client().bucket(settings.state_bucket)), subscriber_client(),
                    since=parse_since(args.since))
    print(json.dumps(result.to_json(), indent=1) if args.json else status_table(result))
    return exit_codes.PROBLEMS if getattr(args, "exit_code", False) and result.problems() else exit_codes.OK


def cmd_audit(settings, args) -> int:
    from hub_import.core.clients import storage_client
    from hub_import.flush.run import hub_client
    from hub_import.state.store import JsonStore

    from .audit import audit
    from .backfill import parse_since
    from .progress import Progress as TerminalProgress

    project = args.project or (settings.default.project if settings.default else settings.routes[0].destination.project)
    progress = TerminalProgress(None, sys.stderr, unit="asset", terminal_only=True)  # a person watching: a bar
    try:
        report = audit(settings, JsonStore(storage_client().bucket(settings.state_bucket)), hub_client(settings),
                       project, since=parse_since(args.since), fix=args.fix,
                       progress=lambda seen, total: progress.update(
                           seen, f"audit: {seen} of {total} assets of {project} read from the Hub", total=total))
    finally:
        progress.close()
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        for line in report.lines():
            say(line)
    return 1 if report.missing or (report.duplicated and not args.fix) else 0


def cmd_trace(settings, args) -> int:
    from hub_import.core.clients import storage_client, subscriber_client
    from hub_import.flush.run import hub_client
    from hub_import.state.store import JsonStore

    from .backfill import parse_since
    from .trace import parse_uri, trace
    from .trace_report import render

    try:
        parse_uri(args.target)
    except ValueError as exc:
        say(f"trace: {exc}", file=sys.stderr)
        return 2
    result = trace(settings, args.target, storage=storage_client(), subscriber=subscriber_client(),
                   store=JsonStore(storage_client().bucket(settings.state_bucket)),
                   hub=hub_client(settings) if settings.hub_api_key else None,
                   since=parse_since(args.since))
    print(json.dumps(result.to_json(), indent=1, default=str) if args.json else render(result))
    return exit_codes.PROBLEMS if result.outcome in TRACE_PROBLEMS else exit_codes.OK


def cmd_check(settings, args) -> int:
    from hub_import.core.clients import publisher_client, storage_client, subscriber_client
    from hub_import.flush.run import hub_client
    from hub_import.hub import HubClient

    from .check import check, report_json, summary_line

    hub = hub_client(settings) if settings.hub_api_key else HubClient(settings.hub_api_url, "",
                                                                      requests_per_minute=0, default_budget=30)
    results = check(settings, storage_client(), publisher_client(), subscriber_client(), hub)
    if args.json:
        print(json.dumps(report_json(results), indent=1))
    else:
        for result in results:
            print(result.line())
        print(summary_line(results))
    return 1 if any(r.status == "fail" for r in results) else 0


def cmd_storages(settings, args) -> int:
    from hub_import.core import clock

    from hub_import.flush.run import hub_client

    from .storages import listing, listing_lines

    rows = listing(hub_client(settings), settings.landing_bucket, deadline=clock.monotonic() + 60)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print("\n".join(listing_lines(rows)) or "no storage integrations in this organization")
    return 0


def parser(prog: str = "hub-import", version: str | None = None) -> argparse.ArgumentParser:
    top = Parser(prog=prog, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                 epilog=__doc__.split("\n\n", 1)[1] + "\n" + exit_codes.HELP)
    if version:
        top.add_argument("--version", action="version", version=f"%(prog)s {version}")
    add_global_options(top)
    commands = top.add_subparsers(dest="command", required=True)

    p = commands.add_parser("backfill", help="queue the eligible objects already in a bucket, once each")
    p.add_argument("target", help="gs://BUCKET or gs://BUCKET/PREFIX")
    p.add_argument("--since", type=since, metavar="DATE",
                   help="only objects created on or after this date (YYYY-MM-DD or ISO time)")
    p.add_argument("--dry-run", action="store_true", help="count per route and skip reason; change nothing")
    p.add_argument("--workers", type=positive, default=16, help="concurrent size probes (default 16)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_backfill)

    p = commands.add_parser("replay", help="send failed (--failed) or stuck pending manifests again, or bring "
                                           "dead letters back (--dead-letters)")
    p.add_argument("manifests", nargs="*", help="manifest paths in the state bucket (default: all that qualify)")
    p.add_argument("--failed", action="store_true", help="failed manifests, rebuilt with today's route and settings "
                                                         "for each object (default: stuck pending ones)")
    p.add_argument("--dead-letters", action="store_true",
                   help="republish the dead letters that can go through now and ack them on the dead-letter "
                        "subscription; the rest stay, with their reason (see status)")
    p.add_argument("--since", type=since, metavar="DATE", help="only manifests written on or after this date")
    p.add_argument("--dry-run", action="store_true", help="say what would be replayed; change nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_replay)

    p = commands.add_parser("status", help="the pipeline's health in one line, then the backlog, the last import, "
                                           "manifests by state, failed assets, dead letters")
    p.add_argument("--since", type=since, metavar="DATE", help="only manifests written on or after this date")
    p.add_argument("--json", action="store_true")
    p.add_argument("--exit-code", action="store_true",
                   help="exit 1 when something needs a person (the Hub silent for more than a few flushes, no "
                        "flush running, a storage integration missing, failed files, dead letters); else 0")
    p.set_defaults(run=cmd_status)

    p = commands.add_parser("audit", help="what the ledger says was sent against what the Hub holds")
    p.add_argument("--project", help="the Hub project (default: HUB_PROJECT_ID, else the first route's)")
    p.add_argument("--since", type=since, metavar="DATE", help="only manifests written on or after this date")
    p.add_argument("--fix", action="store_true", help="remove duplicates this product created (oldest copy stays)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_audit)

    p = commands.add_parser("trace", help="one file's whole story: rules, ledger, manifests, dead letters, the Hub; "
                                          "and a verdict")
    p.add_argument("target", help="gs://BUCKET/NAME")
    p.add_argument("--since", type=since, metavar="DATE",
                   help="only manifests written on or after this date (default: all that are kept)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_trace)

    p = commands.add_parser("check", help="check the configuration and reach every dependency once")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_check)

    p = commands.add_parser("storages", help="the organization's Hub storage integrations: id, type, bucket, name "
                                             "(every page), the landing bucket's marked")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_storages)

    p = commands.add_parser("flush", help="drain the queue into the Hub once, as the scheduled function does")
    p.add_argument("--json", action="store_true", help="the summary as JSON (so it is when stdout is not a terminal)")
    p.set_defaults(run=cmd_flush)

    deletion_commands(commands)
    sweep_command(commands)
    for p in commands.choices.values():
        add_global_options(p, after_command=True)
    return top


def main(argv: list[str] | None = None, *, prog: str = "hub-import", version: str | None = None) -> int:
    """Run one command and return its exit code (exit_codes.py); `prog` and `version` come from the
    entry point (hub_import/__main__.py). Every error is one line on stderr (cli_errors.py)."""
    try:
        check_argv(sys.argv[1:] if argv is None else argv)  # before argparse, which may echo a value
    except CliEnvError as exc:
        say(str(exc), file=sys.stderr)
        return exit_codes.USAGE
    args = argparse.Namespace(debug=False)
    environ: dict = {}

    def debug() -> bool:
        return args.debug or (environ or os.environ).get("LOG_LEVEL", "").strip().upper() == "DEBUG"

    def run() -> int:
        try:
            parser(prog, version).parse_args(argv, namespace=args)
        except SystemExit as done:  # --help, --version, or a usage error's one line (cli_args.Parser)
            return done.code if isinstance(done.code, int) else exit_codes.USAGE
        environ.update(environment(os.environ, sets(args), args.api_key_file, args.api_key_secret))
        settings = config.load(environ)
        level = logging.DEBUG if args.debug else logging.INFO if args.verbose else \
            max(logging.WARNING, logging.getLevelName(settings.log_level))
        logs.setup(level, stream=sys.stderr)
        return args.run(settings, args)

    # The key is taken out of an error's line, wherever it came from.
    return guarded(run, debug=debug, key=lambda: environ.get("HUB_API_KEY") or os.environ.get("HUB_API_KEY", ""))
