"""`python -m hub_import <command>`: operate the product from a shell.

Reads the same environment variables as the functions (source .local/stack.env for the local
stack; on GCP, export them and use application-default credentials).
"""
from __future__ import annotations

import argparse
import json
import sys

from . import config, logs


def cmd_flush(settings: config.Settings, args) -> int:
    from .flush import flush_once

    summary = flush_once(settings)
    print(json.dumps(summary.to_json(), indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub_import", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    flush = commands.add_parser("flush", help="drain the queue into the Hub once, as the scheduled function does")
    flush.set_defaults(run=cmd_flush)
    args = parser.parse_args(argv)
    try:
        settings = config.load()
    except config.ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logs.setup(settings.log_level)
    return args.run(settings, args)
