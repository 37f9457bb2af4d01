"""rdk.prodlike.Supervisor: what systemd's Restart=always does for the task
worker and the scheduler in production, for `make chaos` and `make scaleout`:
a process that exits is started again; `stop()` ends it for good."""

from __future__ import annotations

import sys
import time

from rdk.prodlike import Process, Supervisor

DEADLINE = 30  # seconds a wait below may take before the test fails


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)  # polling a condition with a deadline, not timing the test


def test_a_process_that_exits_is_started_again_until_stopped(tmp_path):
    started: list[Process] = []
    # Exits at once the first time (as the scheduler does when it loses its
    # lock), then stays up.
    marker = tmp_path / "ran-once"
    code = (
        "import pathlib, sys, time\n"
        f"m = pathlib.Path({str(marker)!r})\n"
        "if not m.exists():\n    m.touch(); sys.exit(3)\n"
        "time.sleep(600)\n"
    )

    def make() -> Process:
        return Process("child", [sys.executable, "-c", code], env={}, log=tmp_path / "log")

    def remember(process: Process) -> Process:
        started.append(process)
        return process

    supervisor = Supervisor(make, remember=remember, delay=0.1).start()
    wait_for(lambda: len(started) == 2 and supervisor.running, "the restart")

    assert supervisor.exits == [3]
    assert len(supervisor.restarts) == 1

    supervisor.stop()

    assert not supervisor.running
    assert all(p.popen.poll() is not None for p in started)
    assert len(started) == 2  # not started again after stop()
