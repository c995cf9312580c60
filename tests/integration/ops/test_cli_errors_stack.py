"""Issue 20, part 3, on the local stack: what a user who mistypes a bucket or a Hub project, or pipes
`status` into `head`, sees: one line on stderr naming what to fix and an exit code of the one
scheme (hub_import/ops/exit_codes.py), never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from hub_import.ops import exit_codes
from tests.integration.flushing import wait_for_the_flush_lease
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


def on_a_terminal(args: list[str], env: dict) -> tuple[int, str]:
    """Run a command with its stdout on a pseudo-terminal, as a person at a shell sees it."""
    import pty

    reader, writer = pty.openpty()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=writer, stderr=subprocess.PIPE)
    os.close(writer)
    out = b""
    while True:
        try:
            chunk = os.read(reader, 4096)
        except OSError:  # the other end closed: the command is done
            break
        if not chunk:
            break
        out += chunk
    os.close(reader)
    return proc.wait(timeout=300), out.decode().replace("\r\n", "\n")


def test_a_flush_by_hand_while_another_holds_the_lease_says_so_in_one_line(stack):
    from hub_import.core.clients import storage_client
    from hub_import.state.lease import Lease
    from hub_import.state.store import JsonStore

    # GIVEN another flush holding the one-sender lease
    wait_for_the_flush_lease(stack)  # (one an earlier test's killed flush left)
    other = Lease(JsonStore(storage_client().bucket(stack["STATE_BUCKET"])), "ledger/leases/flush.json", "other-flush")
    assert other.acquire(120) is None
    held_until = time.strftime("%H:%M:%SZ", time.gmtime(other.until))
    try:
        # WHEN a person runs flush at a terminal
        code, out = on_a_terminal([sys.executable, "-m", "hub_import", "flush"], {**os.environ, **stack})
    finally:
        other.release()
    # THEN one line says who holds it until when, and that nothing was done
    assert code == exit_codes.OK, out
    assert out == f"another flush holds the lease until {held_until}; nothing done\n"


def test_a_flush_by_hand_at_a_terminal_says_what_it_did_and_json_when_asked(stack):
    env = {**os.environ, **stack}
    code, out = on_a_terminal([sys.executable, "-m", "hub_import", "flush"], env)
    lines = out.splitlines()
    assert code == exit_codes.OK and 2 <= len(lines) <= 5, out
    assert lines[0].startswith("flush ") and "pulled" in lines[0] and "Hub calls in" in lines[-1]
    code, out = on_a_terminal([sys.executable, "-m", "hub_import", "flush", "--json"], env)
    assert code == exit_codes.OK and json.loads(out)["lease_held_by"] == ""
