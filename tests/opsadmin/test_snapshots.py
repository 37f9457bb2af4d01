"""Snapshots on PostgreSQL: create, verify, restore-check — and failures."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from opsadmin.models import AuditEntry, Snapshot, SnapshotCheck
from opsadmin.services import snapshots as service
from rdk import integrity
from tests.catalog.factories import ProductFactory
from tests.orders.factories import UserFactory, order_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def snapshot_dir(settings, tmp_path):
    settings.SNAPSHOT_DIR = str(tmp_path / "snapshots")
    return tmp_path / "snapshots"


def corrupt(snapshot: Snapshot) -> None:
    path = service.snapshot_path(snapshot)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\x00" * 64
    path.write_bytes(bytes(data))


def test_create_verify_and_restore_check_pass():
    products = ProductFactory.create_batch(3, with_sizes=2)
    # Order rows sit behind forced row security: the snapshot must still see them.
    order_for(UserFactory(), products[0].variants.first())
    snapshot = service.snapshot_create(actor="test")
    assert snapshot.engine == "postgresql"
    assert snapshot.row_counts["catalog_product"] == 3
    assert snapshot.row_counts["catalog_variant"] == 6
    assert snapshot.row_counts["orders_order"] == 1
    assert len(snapshot.sha256) == 64
    assert service.snapshot_path(snapshot).stat().st_size == snapshot.size_bytes

    verify = service.snapshot_verify(actor="test")
    assert verify.ok, verify.problems

    check = service.snapshot_restore_check(actor="test")
    assert check.ok, check.problems
    assert check.details["checks"]["snapshot.row_counts"]["ok"] is True
    assert check.details["dropped"] is True
    assert check.details["restore_ms"] >= 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", [check.details["database"]]
        )
        assert cursor.fetchone()[0] == 0  # the temporary database is gone
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {
        "snapshot.create",
        "snapshot.verify",
        "snapshot.restore_check",
    }


def test_a_corrupted_snapshot_fails_verify_and_restore_check():
    snapshot = service.snapshot_create(actor="test")
    corrupt(snapshot)
    verify = service.snapshot_verify(actor="test")
    assert not verify.ok
    assert "checksum" in " ".join(verify.problems)
    check = service.snapshot_restore_check(actor="test")
    assert not check.ok
    with pytest.raises(CommandError, match="FAILED"):
        call_command("snapshot", "verify")
    with pytest.raises(CommandError, match="FAILED"):
        call_command("snapshot", "restore-check")


def test_a_corrupted_archive_fails_the_restore_itself():
    """Even with a matching checksum (corrupted before it was recorded), pg_restore refuses."""
    snapshot = service.snapshot_create(actor="test")
    corrupt(snapshot)
    Snapshot.objects.filter(pk=snapshot.pk).update(
        sha256=service.sha256_file(service.snapshot_path(snapshot))
    )
    check = service.snapshot_restore_check(actor="test")
    assert not check.ok
    assert any("pg_restore" in problem for problem in check.problems)


def test_row_counts_that_differ_fail_the_restore_check():
    ProductFactory()
    snapshot = service.snapshot_create(actor="test")
    Snapshot.objects.filter(pk=snapshot.pk).update(
        row_counts={**snapshot.row_counts, "catalog_product": 99}
    )
    check = service.snapshot_restore_check(actor="test")
    assert not check.ok
    assert "catalog_product: 1 rows restored, 99 recorded" in " ".join(check.problems)


def test_apps_can_register_integrity_checks():
    service.snapshot_create(actor="test")

    @integrity.register_integrity_check("test.always_fails")
    def always_fails(target):
        assert target.table_exists("catalog_product")
        return ["paid order 7 has no payment"]

    try:
        check = service.snapshot_restore_check(actor="test")
    finally:
        integrity._CHECKS.pop("test.always_fails")
    assert not check.ok
    assert check.details["checks"]["test.always_fails"]["problems"] == [
        "paid order 7 has no payment"
    ]


def test_verify_fails_when_the_latest_is_too_old_or_missing():
    assert not service.snapshot_verify(actor="test").ok  # none yet
    snapshot = service.snapshot_create(actor="test")
    Snapshot.objects.filter(pk=snapshot.pk).update(
        created_at=snapshot.created_at - dt.timedelta(hours=27)
    )
    check = service.snapshot_verify(actor="test")
    assert not check.ok
    assert "older than 26 h" in " ".join(check.problems)
    assert service.snapshot_verify(actor="test", max_age_hours=48).ok
    service.snapshot_path(snapshot).unlink()
    assert "missing" in " ".join(service.snapshot_verify(actor="test", max_age_hours=48).problems)


def test_snapshot_commands(capsys):
    call_command("snapshot", "create")
    call_command("snapshot", "list")
    call_command("snapshot", "verify")
    call_command("snapshot", "restore-check")
    out = capsys.readouterr().out
    assert "Snapshot rdk-" in out
    assert "Verify passed" in out
    assert "Restore check passed" in out
    assert SnapshotCheck.objects.filter(ok=True).count() == 2
