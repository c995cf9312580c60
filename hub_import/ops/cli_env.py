"""The environment one CLI run reads: the process's, with `--set NAME=VALUE` overrides and the Hub
API key from `--api-key-file PATH` or `--api-key-secret NAME` (Secret Manager, secret_key.py).

The key never comes from a command line: a `--set HUB_API_KEY=...` would sit in `ps` and the
shell's history, so any `--set` that names the key, in whatever form (`hub_api_key:...`,
`HUB-API-KEY=...`), is refused. No refusal here repeats what was given after a setting's name,
nor the name itself when it is not a setting's (a mistyped item may be all value).
"""
from __future__ import annotations

import os
import re
from typing import Iterable, Mapping

from hub_import.core.setting_names import closest
from hub_import.core.settings_table import ENV

KEY = "HUB_API_KEY"
_KEY_LETTERS = re.sub(r"[^A-Z0-9]", "", KEY)
KEY_SOURCES = (f"export {KEY} in the shell, or give --api-key-file PATH (a file that holds only the key) or "
               "--api-key-secret projects/P/secrets/S (Secret Manager)")
_KEY_REFUSAL = ("{where}: the Hub API key is never given on a command line, where ps and the shell's history "
                f"keep it; {KEY_SOURCES} (what was given is not shown)")


class CliEnvError(ValueError):
    """A --set or --api-key-file that cannot be used; the message holds no value given."""


def names_the_key(item: str) -> bool:
    """Whether `item` names the API key in any spelling: case, separators and spacing ignored."""
    return _KEY_LETTERS in re.sub(r"[^A-Z0-9]", "", item.upper())


def check_argv(argv: Iterable[str]) -> None:
    """Refuse a `--set` (or an abbreviation argparse would take for it) that names the key, before
    argparse reads the line: `--set HUB_API_KEY sk-...` would otherwise have argparse echo the key
    back as an unknown command."""
    argv = list(argv)
    for i, token in enumerate(argv):
        if token == "--":
            return
        flag, eq, attached = token.partition("=")
        if flag.startswith("--api") and flag not in ("--api-key-file", "--api-key-secret"):
            # an abbreviation argparse would take for one of them, or refuse with the line's rest
            raise CliEnvError(f"{flag}: give --api-key-file PATH or --api-key-secret NAME in full "
                              "(what follows it is not shown)")
        if len(flag) >= 3 and "--set".startswith(flag):
            value = attached if eq else (argv[i + 1] if i + 1 < len(argv) else "")
            if names_the_key(value):
                raise CliEnvError(_KEY_REFUSAL.format(where="--set"))


def environment(base: Mapping[str, str], sets: Iterable[str], api_key_file: str | None,
                api_key_secret: str | None = None, session=None) -> dict[str, str]:
    """`base` with each `--set` applied, then the key read from `api_key_file` or the Secret
    Manager secret `api_key_secret` if one is given (not both)."""
    environ = dict(base)
    for n, item in enumerate(sets, 1):
        if names_the_key(item):
            raise CliEnvError(_KEY_REFUSAL.format(where=f"--set (#{n})"))
        name, sep, value = item.partition("=")
        if not sep or name not in ENV:
            raise CliEnvError(f"--set (#{n}): expected NAME=VALUE with NAME one of the settings"
                              f"{_suggestion(name if sep else '')} (what was given is not shown)")
        environ[name] = value
    if api_key_file is not None and api_key_secret is not None:
        raise CliEnvError("give --api-key-file or --api-key-secret, not both")
    if api_key_file is not None:
        environ[KEY] = read_key_file(api_key_file)
    if api_key_secret is not None:
        from .secret_key import SecretKeyError, read_secret_key

        try:
            environ[KEY] = read_secret_key(api_key_secret, session)
        except SecretKeyError as exc:
            raise CliEnvError(str(exc)) from None
    return environ


def read_key_file(path: str) -> str:
    """The key in the file at `path`: its one line, without surrounding whitespace. A path that
    names nothing is not repeated: it may be the key itself (`--api-key KEY`, which argparse takes
    for `--api-key-file KEY`)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(64 * 1024 + 1)
    except OSError as exc:
        shown = f" {path}" if os.path.lexists(path) else " (the path given, not shown: it names no file)"
        raise CliEnvError(f"--api-key-file{shown}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CliEnvError(f"--api-key-file {path}: not UTF-8 text") from None
    if not text:
        raise CliEnvError(f"--api-key-file {path}: the file is empty")
    if len(raw) > 64 * 1024 or "\n" in text or "\r" in text:
        raise CliEnvError(f"--api-key-file {path}: expected the key alone, on one line")
    return text


def _suggestion(name: str) -> str:
    """`; did you mean X?` when `name` is close to a setting's name (only a setting's name is shown)."""
    close = closest(name, [n for n in ENV if n != KEY])
    return f"; did you mean {close}?" if close else ""
