"""How the CLI reads its command line, beyond argparse's defaults: a usage error is one line (exit 2);
the global options (--set, the key's sources, --verbose, --debug) go before or after the command,
as gcloud's and kubectl's do; a --since that is not a date is a usage error before any client is made.
"""
from __future__ import annotations

import argparse

from hub_import.core.text import for_terminal

from . import exit_codes

SINCE_FORMS = "YYYY-MM-DD or an ISO 8601 time such as 2026-05-01T12:00:00Z"


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr naming what to fix, and exit 2 (USAGE)."""

    def error(self, message: str):
        self.exit(exit_codes.USAGE, for_terminal(f"{self.prog}: {message} (see {self.prog} --help)") + "\n")


def add_global_options(parser: argparse.ArgumentParser, *, after_command: bool = False) -> None:
    """The options every command takes, before the command or (`after_command`) after it. After it
    they default to SUPPRESS, so that an option given before is kept (argparse copies a subcommand's
    values over the top's), and --set collects into `set_after`, joined by `sets(args)`."""
    group = parser.add_argument_group("global options (before or after the command)") if after_command else parser
    kept = {"default": argparse.SUPPRESS} if after_command else {}
    group.add_argument("--set", action="append", metavar="NAME=VALUE", dest="set_after" if after_command else "set",
                       default=argparse.SUPPRESS if after_command else [],
                       help="override one setting (an environment variable) for this run; not HUB_API_KEY")
    group.add_argument("--api-key-file", metavar="PATH", **kept,
                       help="read the Hub API key from this file (its one line) instead of HUB_API_KEY")
    group.add_argument("--api-key-secret", metavar="NAME", **kept,
                       help="read the Hub API key from Secret Manager: projects/P/secrets/S[/versions/V] "
                            "(Terraform's output hub_api_key_secret_version)")
    group.add_argument("--verbose", action="store_true", **kept, help="log INFO lines to standard error")
    group.add_argument("--debug", action="store_true", **kept,
                       help="log DEBUG lines, and show the traceback of an error")


def sets(args: argparse.Namespace) -> list[str]:
    """Every --set, in the order given: those before the command, then those after it."""
    return list(args.set) + list(getattr(args, "set_after", []))


def since(text: str) -> str:
    """--since as given, once it is known to be a date or a time (backfill.parse_since reads it)."""
    from .backfill import parse_since

    try:
        parse_since(text)
    except ValueError as exc:
        why = str(exc) if "isoformat" not in str(exc) else "not a date"
        raise argparse.ArgumentTypeError(f"{text!r}: {why}; expected {SINCE_FORMS}") from None
    return text


def positive(text: str) -> int:
    """A count of at least 1 (--workers)."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of at least 1")
    return number
