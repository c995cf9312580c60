"""Issue 20, part 3, on the local stack: what a user who mistypes a bucket or a Hub project, or pipes
`status` into `head`, sees: one line on stderr naming what to fix and an exit code of the one
scheme (hub_import/ops/exit_codes.py), never a traceback."""
from __future__ import annotations

import os
import subprocess
import sys

from hub_import.ops import exit_codes
from tests.integration.ops.test_operations import ROOT, cli


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_backfill_of_a_bucket_that_does_not_exist_says_so_in_one_line(stack):
    done = cli(stack, "backfill", "gs://no-such-bucket-20", LANDING_BUCKET="no-such-bucket-20")
    assert done.returncode == exit_codes.USAGE
    assert one_line(done.stderr).startswith("bucket no-such-bucket-20 does not exist")


def test_an_audit_of_a_project_the_hub_does_not_hold_says_so_in_one_line(stack):
    done = cli(stack, "audit", "--project", "ghost")
    assert done.returncode == exit_codes.USAGE
    line = one_line(done.stderr)
    assert line.startswith("the Hub has no such project") and "ghost" in line and "--project" in line


def test_status_into_a_reader_that_stops_early_ends_quietly(stack):
    env = {**os.environ, **stack}
    done = subprocess.run(f"{sys.executable} -m hub_import status | head -1", shell=True, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, executable="/bin/bash")
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
