"""A second `make up` while a stack runs refuses in one line, and leaves the running stack and its
state alone (`up` starts fresh: it would otherwise stop the stack and wipe its buckets and queues)."""
from __future__ import annotations

import sys

import pytest

from deploy.local import stack
from deploy.local.processes import StackError, running, spawn, stop_all


@pytest.fixture
def a_running_stack(tmp_path):
    """A state directory as `make up` leaves it: a live server's pid file and the emulators' data."""
    server = spawn("pubsub", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path)
    (tmp_path / "gcs-data" / "landing").mkdir(parents=True)
    (tmp_path / "gcs-data" / "landing" / "a.jpg").write_bytes(b"kept")
    (tmp_path / "stack.env").write_text("export STATE_BUCKET=hub-import-state\n")
    yield tmp_path, server
    stop_all(tmp_path)


def test_a_second_up_refuses_naming_the_running_pid_and_wipes_nothing(a_running_stack, capsys):
    state_dir, server = a_running_stack
    # WHEN `make up` runs again on the same directory
    code = stack.main(["up", "--dir", str(state_dir)])
    # THEN it says so in one line, and the stack, its data and its stack.env are as they were
    err = capsys.readouterr().err
    assert code == 1
    assert err == f"make up failed: a local stack is already running (pid {server.pid}); make down first\n"
    assert server.poll() is None
    assert (state_dir / "gcs-data" / "landing" / "a.jpg").read_bytes() == b"kept"
    assert (state_dir / "stack.env").exists() and (state_dir / "pubsub.pid").exists()


def test_up_itself_refuses_so_that_no_caller_wipes_a_running_stack(a_running_stack):
    state_dir, server = a_running_stack
    with pytest.raises(StackError, match=rf"already running \(pid {server.pid}\); make down first"):
        stack.up(state_dir)
    assert (state_dir / "gcs-data" / "landing" / "a.jpg").exists()


def test_pid_files_a_dead_stack_left_are_not_a_running_stack(tmp_path):
    server = spawn("flush", [sys.executable, "-c", "pass"], tmp_path)
    server.wait()
    (tmp_path / "hub.pid").write_text("not a pid")
    assert (tmp_path / "flush.pid").exists()
    assert running(tmp_path) == {}


def test_after_make_down_nothing_runs(a_running_stack):
    state_dir, server = a_running_stack
    assert running(state_dir) == {"pubsub": server.pid}
    stack.main(["down", "--dir", str(state_dir)])
    assert running(state_dir) == {}
