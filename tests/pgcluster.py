"""A throw-away PostgreSQL cluster for tests that need what the shared test
server must not be changed for: preloaded libraries, password authentication,
roles created and dropped. Started with the Debian server binaries as the
`postgres` user when the tests run as root."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest


def _pg_bin() -> Path:
    """The server binaries: Debian keeps them in /usr/lib/postgresql/<version>/bin."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else Path("/usr/lib/postgresql/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    port: int
    socket_dir: Path

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:
        """A superuser connection over the Unix socket (trusted)."""
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname=dbname,
            autocommit=True,
        )

    def connect(self, user: str, password: str, dbname: str) -> psycopg.Connection:
        """A TCP connection, where passwords are checked (scram-sha-256)."""
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=user,
            password=password,
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )


@contextlib.contextmanager
def pg_cluster(*settings: str) -> Iterator[Cluster]:
    """Start a cluster with `-c` settings (e.g. shared_preload_libraries=…); TCP
    connections need a password, the socket does not."""
    pg_bin = _pg_bin()
    if not (pg_bin / "initdb").exists():
        pytest.fail("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    folder = Path(tempfile.mkdtemp(prefix="rdk-pgcluster-"))
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(folder, user="postgres")
    port, data = free_port(), folder / "data"

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)  # nosec B603

    run(
        str(pg_bin / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
    )
    options = " ".join(
        [f"-p {port}", f"-k {folder}", "-c listen_addresses=127.0.0.1"]
        + [f"-c {setting}" for setting in settings]
    )
    log = str(folder / "log")
    run(str(pg_bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
    try:
        yield Cluster(port=port, socket_dir=folder)
    finally:
        run(str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
