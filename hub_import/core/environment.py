"""Typed reads of environment variables, each error naming its variable.

`Reader` reads from one mapping (os.environ, or a test's dict) the variables of a table
{name: (default or None when required, what it holds)}; every malformed or missing value
raises `ConfigError` naming the variable and saying what is expected.
"""
from __future__ import annotations

import math
from typing import Mapping, NamedTuple


class ConfigError(ValueError):
    """A setting that is missing or malformed; the message names its variable."""


class Reader:
    """Typed reads of the environment, each error naming its variable."""

    def __init__(self, environ: Mapping[str, str], known: Mapping[str, tuple[str | None, str]],
                 bounds: Mapping[str, NamedTuple] | None = None):
        self.environ, self.known, self.bounds = environ, known, bounds or {}

    def raw(self, name: str) -> str:
        default, _ = self.known[name]
        value = self.environ.get(name)
        if value is None:  # unset takes the default; set but empty means empty
            if default is None:
                raise ConfigError(f"{name}: required ({self.known[name][1]})")
            return default
        return value

    def text(self, name: str) -> str:
        value = self.raw(name).strip()
        if not value and self.known[name][0] is None:
            raise ConfigError(f"{name}: required ({self.known[name][1]})")
        return value

    def nonempty(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise ConfigError(f"{name}: must not be empty ({self.known[name][1]})")
        return value

    def items(self, name: str) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.text(name).split(",") if p.strip())

    def flag(self, name: str) -> bool:
        value = self.text(name).lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{name}: expected true or false, got {value!r}")

    def integer(self, name: str, low: int, high: int | None = None) -> int:
        value = self.text(name)
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name}: expected a whole number, got {value!r}") from None
        if number < low or (high is not None and number > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ConfigError(f"{name}: expected a number {span}, got {number}")
        return number

    def number(self, name: str, low: float, high: float | None = None) -> float:
        value = self.text(name)
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {value!r}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{name}: expected a finite number, got {value!r}")
        if number < low or (high is not None and number > high):
            span = f"from {low:g} to {high:g}" if high is not None else f"of at least {low:g}"
            raise ConfigError(f"{name}: expected a number {span}, got {value}")
        return number

    def bounded(self, name: str) -> int | float:
        """A numeric setting read within its bounds from the table (`whole`, `low`, `high`)."""
        bound = self.bounds[name]
        if bound.whole:
            return self.integer(name, int(bound.low), int(bound.high))
        return self.number(name, bound.low, bound.high)

    def bucket(self, name: str) -> str:
        value = self.text(name).removeprefix("gs://").rstrip("/")
        if "/" in value or not value:
            raise ConfigError(f"{name}: expected a bucket name (no path), got {value!r}")
        return value

    def prefix(self, name: str) -> str:
        value = self.text(name).strip("/")
        if not value:
            raise ConfigError(f"{name}: expected a non-empty folder prefix such as 'manifests/'")
        return value + "/"
