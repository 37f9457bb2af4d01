"""A test run killed in the middle of a transactional test leaves its rows in
the reused test database; the next run must start clean anyway (the session
flush in tests/conftest.py). Both runs use a test database of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings

from tests.conftest import BASE_DIR

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SCENARIO = "tests/rdk/scenarios/interrupted.py"


def run_pytest(test: str, env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{SCENARIO}::{test}"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def test_a_run_killed_mid_test_does_not_break_the_next_one(tmp_path):
    db = settings.DATABASES["default"]
    name = db["NAME"].removeprefix("test_") + "_interrupted"
    ready, hold = tmp_path / "ready", tmp_path / "hold"
    os.mkfifo(ready)
    os.mkfifo(hold)
    address = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{address}/{name}",
        "CACHE_URL": "locmemcache://",
        "RDK_SCENARIO_READY": str(ready),
        "RDK_SCENARIO_HOLD": str(hold),
    }
    killed = run_pytest("test_creates_ops_then_is_killed", env, start_new_session=True)
    with open(ready) as inside:  # blocks until the test has written its row
        assert inside.read() == "inside"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=60)

    nxt = run_pytest("test_creates_ops", env)
    output, _ = nxt.communicate(timeout=600)
    assert nxt.returncode == 0, output
    assert "1 passed" in output
