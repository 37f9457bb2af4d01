"""`.ci/apt-packages`, the one list of Debian packages the tests need, used by
`.ci/run` and `make test`: as root it installs what is missing; otherwise one
line says exactly what to install, and outside CI chromium alone may be
skipped on request (make test then prints a loud line)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BASE_DIR

SCRIPT = BASE_DIR / ".ci" / "apt-packages"
COMMANDS = ("chromium", "pg_dump", "redis-server", "wrk", "pgbouncer")


@pytest.fixture
def machine(tmp_path):
    """A PATH holding bash, a fake `id` and `apt-get`, and the given commands."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bash").symlink_to(shutil.which("bash"))
    log = tmp_path / "apt-get.log"

    def write(name: str, body: str) -> None:
        path = bin_dir / name
        path.write_text(f"#!{shutil.which('bash')}\n{body}\n")
        path.chmod(0o755)

    write("apt-get", f'echo "$*" >> {log}')

    def run(*, present=COMMANDS, uid=1000, **env: str) -> subprocess.CompletedProcess:
        write("id", f"echo {uid}")
        for name in COMMANDS:
            (bin_dir / name).unlink(missing_ok=True)
            if name in present:
                write(name, "true")
        return subprocess.run(
            [str(SCRIPT), "ensure"],
            env={"PATH": str(bin_dir), **env},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    run.apt_log = log
    return run


def test_nothing_missing_nothing_done(machine):
    result = machine()
    assert result.returncode == 0
    assert not machine.apt_log.exists()


def test_root_installs_what_is_missing(machine):
    result = machine(present=("pg_dump", "redis-server", "pgbouncer"), uid=0)
    assert result.returncode == 0
    assert machine.apt_log.read_text().splitlines() == [
        "update -qq",
        "install -y -qq chromium wrk",
    ]


def test_without_root_one_line_says_what_to_install(machine):
    result = machine(present=("pg_dump", "redis-server", "wrk", "pgbouncer"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "sudo apt-get install chromium" in lines[0]
    assert not machine.apt_log.exists()


def test_browser_tests_may_be_skipped_on_request_outside_ci_only(machine):
    no_chromium = ("pg_dump", "redis-server", "wrk", "pgbouncer")
    assert machine(present=no_chromium, RDK_SKIP_BROWSER_TESTS="1").returncode == 3
    assert machine(present=no_chromium, RDK_SKIP_BROWSER_TESTS="1", CI="true").returncode == 1
    # Only chromium may be skipped: a missing pg_dump still fails.
    assert machine(present=("redis-server", "wrk"), RDK_SKIP_BROWSER_TESTS="1").returncode == 1


def test_an_optional_package_is_left_to_make_test_outside_ci(machine):
    """pgbouncer missing without root: make test skips its pooled pass and says
    so (under CI it is required like the rest, and make test fails without it)."""
    required = ("chromium", "pg_dump", "redis-server", "wrk")
    assert machine(present=required).returncode == 0


def test_ci_and_make_test_both_use_the_one_list():
    assert ".ci/apt-packages ensure" in (BASE_DIR / ".ci" / "run").read_text()
    assert ".ci/apt-packages ensure" in (BASE_DIR / "Makefile").read_text()
    assert "apt-get install" not in (BASE_DIR / ".ci" / "run").read_text()
    assert os.access(SCRIPT, os.X_OK)
    assert Path(SCRIPT).read_text().startswith("#!/usr/bin/env bash")
