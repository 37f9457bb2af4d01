"""`snapshot restore SNAPSHOT --into DATABASE_URL` (RUNBOOK §5.2) on PostgreSQL,
with the uploaded files that a snapshot archives (§5.1 storage versioning)."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from psycopg import sql

from opsadmin.exceptions import SnapshotError
from opsadmin.models import AuditEntry, Snapshot, SnapshotCheck
from opsadmin.services import snapshots as service
from tests.catalog.factories import ProductFactory
from tests.orders.factories import UserFactory, order_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def folders(settings, tmp_path):
    settings.SNAPSHOT_DIR = str(tmp_path / "snapshots")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    (tmp_path / "media" / "products").mkdir(parents=True)
    (tmp_path / "media" / "products" / "air.png").write_bytes(b"\x89PNG air " * 100)
    (tmp_path / "media" / "products" / "dunk.png").write_bytes(b"\x89PNG dunk " * 50)
    return tmp_path


def _url(name: str) -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{db['USER']}{password}@{host}/{name}"


def _admin() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return service._pg_connect(db, db["NAME"], autocommit=True)


@pytest.fixture
def target():
    """A fresh database for the restored instance, dropped afterwards."""
    name = f"rdk_rb_{secrets.token_hex(4)}"
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with _admin() as admin:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        admin.execute(drop.format(sql.Identifier(name)))


def _count(name: str, table: str) -> int:
    db = settings.DATABASES["default"]
    with service._pg_connect(db, name) as conn:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        return conn.execute(query).fetchone()[0]


def test_a_snapshot_archives_the_uploads_and_verify_checks_them(folders):
    snapshot = service.snapshot_create(actor="test")
    assert snapshot.media_file_count == 2
    assert len(snapshot.media_sha256) == 64
    assert service.snapshot_verify(actor="test").ok
    archive = service.media_path(snapshot)
    archive.write_bytes(archive.read_bytes()[:-20])
    check = service.snapshot_verify(actor="test")
    assert not check.ok
    assert "media archive" in " ".join(check.problems)


def test_restore_into_an_empty_database_checks_it_and_puts_the_uploads_back(folders, target):
    products = ProductFactory.create_batch(2, with_sizes=2)
    order_for(UserFactory(), products[0].variants.first())
    snapshot = service.snapshot_create(actor="test")
    media = folders / "restored-media"

    result = service.snapshot_restore(
        snapshot=snapshot, into=_url(target), actor="test", media_root=str(media)
    )

    assert result.check.ok, result.check.problems
    assert result.check.kind == SnapshotCheck.Kind.RESTORE
    assert _count(target, "catalog_product") == 2
    assert _count(target, "orders_order") == 1
    assert result.check.details["checks"]["snapshot.row_counts"]["ok"] is True
    assert result.rls
    assert not any(audit.problems for audit in result.rls)
    assert (media / "products" / "air.png").read_bytes() == b"\x89PNG air " * 100
    assert result.media_files == 2
    assert f"MEDIA_ROOT={media}" in result.repoint()
    assert AuditEntry.objects.filter(action="snapshot.restore", outcome="ok").exists()


def test_a_non_empty_target_is_refused_unless_forced(folders, target):
    ProductFactory()
    snapshot = service.snapshot_create(actor="test")
    media = str(folders / "restored-media")
    service.snapshot_restore(snapshot=snapshot, into=_url(target), actor="test", media_root=media)
    ProductFactory()  # the live database moves on; a second snapshot has 2 products
    newer = service.snapshot_create(actor="test")

    with pytest.raises(SnapshotError, match="not empty"):
        service.snapshot_restore(snapshot=newer, into=_url(target), actor="test", media_root=media)
    with pytest.raises(SnapshotError, match="table\\(s\\); pass --force"):
        service.snapshot_restore(
            snapshot=newer, into=_url(target), actor="test", media_root=str(folders / "other")
        )
    assert _count(target, "catalog_product") == 1  # nothing was touched

    result = service.snapshot_restore(
        snapshot=newer, into=_url(target), actor="test", media_root=media, force=True
    )
    assert result.check.ok, result.check.problems
    assert _count(target, "catalog_product") == 2


def test_the_live_database_and_media_root_are_refused_outright(folders):
    snapshot = service.snapshot_create(actor="test")
    live = settings.DATABASES["default"]["NAME"]
    for force in (False, True):
        with pytest.raises(SnapshotError, match="live database"):
            service.snapshot_restore(snapshot=snapshot, into=_url(live), actor="test", force=force)
    with pytest.raises(SnapshotError, match="live MEDIA_ROOT"):
        service.snapshot_restore(
            snapshot=snapshot,
            into=_url("rdk_rb_elsewhere"),
            actor="test",
            media_root=settings.MEDIA_ROOT,
            force=True,
        )
    with pytest.raises(SnapshotError, match="PostgreSQL URL"):
        service.snapshot_restore(snapshot=snapshot, into="sqlite:///tmp/x.db", actor="test")


def test_a_corrupted_snapshot_is_not_restored(folders, target):
    snapshot = service.snapshot_create(actor="test")
    path = service.snapshot_path(snapshot)
    path.write_bytes(path.read_bytes()[:-100])
    result = service.snapshot_restore(
        snapshot=snapshot, into=_url(target), actor="test", media_root=str(folders / "m")
    )
    assert not result.check.ok
    assert "changed or truncated" in " ".join(result.check.problems)
    assert _tables(target) == 0


def _tables(name: str) -> int:
    db = settings.DATABASES["default"]
    with service._pg_connect(db, name) as conn:
        return service._user_tables(conn)


def test_restore_command_prints_what_to_repoint_and_hides_the_password(folders, target, capsys):
    ProductFactory()
    call_command("snapshot", "create")
    name = Snapshot.objects.first().file_name
    call_command(
        "snapshot", "restore", name, "--into", _url(target), "--media-root", str(folders / "m")
    )
    out = capsys.readouterr().out
    assert f"Restored {name}" in out
    assert "DATABASE_URL=postgres://" in out
    assert f"/{target}" in out
    assert "MEDIA_ROOT=" in out
    assert "rls_audit ok" in out

    with pytest.raises(CommandError, match="pass --force"):
        call_command("snapshot", "restore", "latest", "--into", _url(target))
    with pytest.raises(CommandError, match="No snapshot named"):
        call_command("snapshot", "restore", "rdk-nope.dump", "--into", _url(target))
    with pytest.raises(CommandError, match="Usage"):
        call_command("snapshot", "restore", "latest")


def test_passwords_are_masked():
    assert service._masked("postgres://rdk:s3cret@db:5432/rdk_staging") == (
        "postgres://rdk:***@db:5432/rdk_staging"
    )
