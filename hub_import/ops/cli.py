"""`hub-import <command>` (or `python -m hub_import <command>`): operate the product from a shell.

    backfill gs://BUCKET[/PREFIX] [--since DATE] [--dry-run]   queue objects already in a bucket
    replay [MANIFEST ...] [--failed] [--since DATE]            send failed or stuck manifests again
    replay --dead-letters [--dry-run]                          bring dead letters back once their cause is fixed
    status [--since DATE] [--json]                             the import history at a glance
    audit [--project P] [--since DATE] [--fix] [--json]       what we sent against what the Hub holds
    trace gs://BUCKET/NAME [--since DATE] [--json]             one file's whole story, and a verdict
    check                                                      reach every dependency once
    storages [--json]                                          the organization's Hub storage integrations
    flush                                                      one flush, as the scheduler runs it
    sweep                                                      one sweep for files whose event was lost

Reads the same environment variables as the functions (`. .local/stack.env` for the local
stack; on GCP, export them and use application-default credentials); `--set NAME=VALUE`
overrides one for this run. The Hub API key never goes on a command line (`--set HUB_API_KEY` is
refused): export HUB_API_KEY, or give `--api-key-file PATH` or `--api-key-secret NAME` (Secret Manager).
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

from .cli_env import CliEnvError, check_argv, environment


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


def cmd_flush(settings, args) -> int:
    from hub_import.flush.run import flush_once

    print(json.dumps(flush_once(settings).to_json(), indent=1))
    return 0


def cmd_sweep(settings, args) -> int:
    from hub_import.ingest.sweep import sweep_once

    print(json.dumps(sweep_once(settings).to_json(), indent=1))
    return 0


def cmd_backfill(settings, args) -> int:
    from .backfill import Progress, backfill, parse_since

    try:
        report = backfill(settings, args.target, since=parse_since(args.since), dry_run=args.dry_run,
                          workers=args.workers, progress=Progress(None))
    except ValueError as exc:  # a target that is not the landing bucket's
        print(f"FAIL backfill: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
        return 0
    verb = "would queue" if args.dry_run else "queued"
    say(f"{report.listed} objects listed, {report.queued} {verb}, {report.skipped} skipped "
        f"in {report.seconds:.1f} s")
    if args.dry_run:
        for title, counter in (("by route", report.by_route), ("skipped, by reason", report.by_reason)):
            if counter:
                say(f"{title}:")
                for label, n in counter.most_common():
                    say(f"  {n:>7}  {label}   e.g. {', '.join(report.examples[label])}")
        print("(dry run: nothing was queued)")
    return 0


def cmd_replay(settings, args) -> int:
    from .backfill import parse_since
    from .replay import manifest_paths, replay

    flush = _flush(settings)
    if args.dead_letters:
        return _replay_dead_letters(flush, args)
    try:
        paths = args.manifests or manifest_paths(flush, failed=args.failed, since=parse_since(args.since))
        if not paths:
            print(json.dumps({"manifests": []}) if args.json else "nothing to replay")
            return 0
        report = replay(flush, paths, dry_run=args.dry_run)
    finally:
        flush.pool.shutdown()
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        for m in report.manifests:
            say("  ".join(f"{k}={v}" for k, v in m.items()))
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
    return 0


def cmd_audit(settings, args) -> int:
    from hub_import.core.clients import storage_client
    from hub_import.flush.run import hub_client
    from hub_import.state.store import JsonStore

    from .audit import audit
    from .backfill import parse_since

    project = args.project or (settings.default.project if settings.default else settings.routes[0].destination.project)
    report = audit(settings, JsonStore(storage_client().bucket(settings.state_bucket)), hub_client(settings),
                   project, since=parse_since(args.since), fix=args.fix)
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        say(f"project {report.project}: {report.sent} sent by us, {report.in_hub} assets in the Hub, "
            f"{len(report.missing)} missing, {len(report.recent)} sent too recently to judge, "
            f"{len(report.duplicated)} duplicated, {report.unknown} unknown to us, "
            f"{len(report.removed)} removed ({report.hub_calls} Hub calls)")
        for external_id in report.missing[:20]:
            say(f"  missing     {external_id}")
        for external_id, n in sorted(report.duplicated.items())[:20]:
            say(f"  duplicated  {external_id}  x{n}")
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
    return 0


def cmd_check(settings, args) -> int:
    from hub_import.core.clients import publisher_client, storage_client, subscriber_client
    from hub_import.flush.run import hub_client
    from hub_import.hub import HubClient

    from .status import check

    hub = hub_client(settings) if settings.hub_api_key else HubClient(settings.hub_api_url, "",
                                                                      requests_per_minute=0, default_budget=30)
    results = check(settings, storage_client(), publisher_client(), subscriber_client(), hub)
    print("ok   configuration: every variable valid")
    for result in results:
        print(result.line())
    failed = [r for r in results if not r.ok and not r.skipped]
    warned = sum(r.warning for r in results)
    print(f"{sum(r.ok and not r.warning for r in results)} ok, {len(failed)} failed, {sum(r.skipped for r in results)} "
          f"skipped" + (f", {warned} warning(s)" if warned else ""))
    return 1 if failed else 0


def cmd_storages(settings, args) -> int:
    from hub_import.core import clock

    from hub_import.flush.run import hub_client
    from hub_import.hub import HubError

    from .storages import listing, listing_lines

    try:
        rows = listing(hub_client(settings), settings.landing_bucket, deadline=clock.monotonic() + 60)
    except (config.ConfigError, HubError) as exc:
        say(f"storages: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print("\n".join(listing_lines(rows)) or "no storage integrations in this organization")
    return 0


def parser(prog: str = "hub-import", version: str | None = None) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    if version:
        top.add_argument("--version", action="version", version=f"%(prog)s {version}")
    top.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="override one setting (an environment variable) for this run; not HUB_API_KEY")
    top.add_argument("--api-key-file", metavar="PATH",
                     help="read the Hub API key from this file (its one line) instead of HUB_API_KEY")
    top.add_argument("--api-key-secret", metavar="NAME",
                     help="read the Hub API key from Secret Manager: projects/P/secrets/S[/versions/V] "
                          "(Terraform's output hub_api_key_secret_version)")
    top.add_argument("--verbose", action="store_true", help="log INFO lines to standard error")
    commands = top.add_subparsers(dest="command", required=True)

    p = commands.add_parser("backfill", help="queue the eligible objects already in a bucket, once each")
    p.add_argument("target", help="gs://BUCKET or gs://BUCKET/PREFIX")
    p.add_argument("--since", help="only objects created on or after this date (YYYY-MM-DD or ISO time)")
    p.add_argument("--dry-run", action="store_true", help="count per route and skip reason; change nothing")
    p.add_argument("--workers", type=int, default=16, help="concurrent size probes (default 16)")
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
    p.add_argument("--since", help="only manifests written on or after this date")
    p.add_argument("--dry-run", action="store_true", help="say what would be replayed; change nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_replay)

    p = commands.add_parser("status", help="manifests by state, failed assets, oldest pending, dead letters")
    p.add_argument("--since", help="only manifests written on or after this date")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_status)

    p = commands.add_parser("audit", help="what the ledger says was sent against what the Hub holds")
    p.add_argument("--project", help="the Hub project (default: HUB_PROJECT_ID, else the first route's)")
    p.add_argument("--since", help="only manifests written on or after this date")
    p.add_argument("--fix", action="store_true", help="remove duplicates this product created (oldest copy stays)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_audit)

    p = commands.add_parser("trace", help="one file's whole story: rules, ledger, manifests, dead letters, the Hub; "
                                          "and a verdict")
    p.add_argument("target", help="gs://BUCKET/NAME")
    p.add_argument("--since", help="only manifests written on or after this date (default: all that are kept)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_trace)

    p = commands.add_parser("check", help="check the configuration and reach every dependency once")
    p.set_defaults(run=cmd_check)

    p = commands.add_parser("storages", help="the organization's Hub storage integrations: id, type, bucket, name "
                                             "(every page), the landing bucket's marked")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_storages)

    p = commands.add_parser("flush", help="drain the queue into the Hub once, as the scheduled function does")
    p.set_defaults(run=cmd_flush)

    p = commands.add_parser("sweep", help="list the landing bucket once for files whose event was lost and queue "
                            "them, as the scheduled sweep does (SWEEP_GRACE_SECONDS; resumes at its cursor)")
    p.set_defaults(run=cmd_sweep)
    return top


def main(argv: list[str] | None = None, *, prog: str = "hub-import", version: str | None = None) -> int:
    """Run one command; `prog` and `version` come from the entry point (hub_import/__main__.py)."""
    try:
        check_argv(sys.argv[1:] if argv is None else argv)  # before argparse, which may echo a value
        args = parser(prog, version).parse_args(argv)
        environ = environment(os.environ, args.set, args.api_key_file, args.api_key_secret)
    except CliEnvError as exc:
        say(str(exc), file=sys.stderr)
        return 2
    try:
        settings = config.load(environ)
    except config.ConfigError as exc:
        say(f"FAIL configuration: {exc}", file=sys.stderr)
        return 2
    level = logging.INFO if args.verbose else max(logging.WARNING, logging.getLevelName(settings.log_level))
    logs.setup(level, stream=sys.stderr)
    return args.run(settings, args)
