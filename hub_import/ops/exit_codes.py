"""The exit codes every command uses (one scheme, as `--help` and the README list them)."""
from __future__ import annotations

OK = 0  # done; nothing needs a person
PROBLEMS = 1  # done, and it found something that needs a person (e.g. `status --exit-code`)
USAGE = 2  # the command line or the settings are wrong
UNREACHABLE = 3  # a dependency (the Hub, GCS, Pub/Sub) could not be reached
