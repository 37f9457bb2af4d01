"""Snapshots of a local SQLite database (the `make run` set-up), end to end
through manage.py in a separate process with its own database file."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_sqlite_snapshot_create_verify_restore_check_and_corruption(manage, tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'local.sqlite3'}",
        "CACHE_URL": "locmemcache://",
        "SNAPSHOT_DIR": str(tmp_path / "snapshots"),
        "RDK_LOG_LEVEL": "error",
    }
    assert manage("migrate", "--no-input", "-v", "0", env=env).returncode == 0
    created = manage("snapshot", "create", env=env)
    assert created.returncode == 0, created.stderr
    assert ".sqlite3" in created.stdout
    assert "orders_order 0" in created.stdout
    assert manage("snapshot", "verify", env=env).returncode == 0
    restored = manage("snapshot", "restore-check", env=env)
    assert restored.returncode == 0, restored.stderr
    assert "Restore check passed" in restored.stdout

    (snapshot,) = (tmp_path / "snapshots").glob("*.sqlite3")
    data = bytearray(snapshot.read_bytes())
    data[200:400] = b"\xff" * 200
    snapshot.write_bytes(bytes(data))
    verify = manage("snapshot", "verify", env=env)
    assert verify.returncode == 1
    assert "checksum" in verify.stderr
    assert manage("snapshot", "restore-check", env=env).returncode == 1
