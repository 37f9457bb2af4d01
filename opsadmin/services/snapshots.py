"""Database snapshots (RUNBOOK §5): create, verify, and restore-check.

- create: `pg_dump --format=custom` on PostgreSQL, the SQLite backup API
  locally, into SNAPSHOT_DIR; records size, SHA-256 and the row counts of
  SNAPSHOT_KEY_TABLES. On PostgreSQL the counts and the dump read one exported
  snapshot, so they describe exactly the same data.
- verify: the latest snapshot exists, is younger than SNAPSHOT_MAX_AGE_HOURS,
  its checksum matches and the archive is readable (`pg_restore --list`).
- restore check: restores the latest snapshot into a fresh temporary database
  (PostgreSQL: CREATE DATABASE as RDK's own role; SQLite: a temporary file),
  runs every check in `rdk.integrity`, drops the copy and records the result
  with its timings.
- restore into an instance (RUNBOOK §5.2): restores a snapshot into the
  PostgreSQL database an operator names (never the live one; an empty one
  unless forced), puts its uploaded files back, runs the integrity checks and
  the row-security audit there, and says what to re-point at it.

Uploaded product images (MEDIA_ROOT) are part of a snapshot: `create` archives
them beside the dump (tar.gz, SHA-256 recorded), `verify` checks that checksum
too, and a restore unpacks them into the restored instance's media folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg import sql

from opsadmin.exceptions import SnapshotError
from opsadmin.models import Snapshot, SnapshotCheck
from orders.rowsecurity import TableAudit, rls_audit
from rdk.audit import audit_record
from rdk.env import POSTGRES_SCHEMES, database_settings
from rdk.integrity import RestoredDatabase, integrity_checks

logger = logging.getLogger(__name__)

PG_DUMP = os.environ.get("RDK_PG_DUMP", "pg_dump")
PG_RESTORE = os.environ.get("RDK_PG_RESTORE", "pg_restore")
_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    logger.info("snapshot.progress", extra={"step": message})


def _db() -> dict[str, Any]:
    return settings.DATABASES["default"]


def _vendor() -> str:
    return connection.vendor


def _pg_args(db: dict[str, Any]) -> list[str]:
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    return [*args, "--no-password"]


# Snapshots are service work: RDK's role is bound by row security (FORCE), so
# every snapshot connection asks for the service scope explicitly, and pg_dump
# runs with row security on (it would otherwise refuse to dump what it cannot
# see). See orders/rowsecurity.py and docs/orders.md.
SERVICE_SCOPE_OPTIONS = "-c rdk.scope=service"


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PGCONNECT_TIMEOUT": "5",
        "PGOPTIONS": SERVICE_SCOPE_OPTIONS,
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _pg_connect(
    db: dict[str, Any], dbname: str, **kwargs: Any
) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(
        dbname=dbname,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        connect_timeout=5,
        options=SERVICE_SCOPE_OPTIONS,
        **kwargs,
    )


def _run(
    args: list[str], env: dict[str, str], timeout: int = 3600
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # noqa: S603 (fixed program, arguments we built)
            args, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SnapshotError(f"{args[0]} could not run: {type(exc).__name__}.") from None


def _first_value(cursor: psycopg.Cursor[tuple[Any, ...]]) -> Any:
    """The first column of the one row an aggregate query always returns."""
    row = cursor.fetchone()
    if row is None:
        raise SnapshotError("PostgreSQL answered an aggregate query with no row.")
    return row[0]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def key_tables() -> list[str]:
    return [table for table in settings.SNAPSHOT_KEY_TABLES if _TABLE.fullmatch(table)]


def row_counts(target: RestoredDatabase) -> dict[str, int | None]:
    """Row count of each key table; None for a table this database lacks."""
    counts: dict[str, int | None] = {}
    for table in key_tables():
        if not target.table_exists(table):
            counts[table] = None
            continue
        quoted = '"' + table + '"'  # validated by _TABLE above
        counts[table] = int(target.query(f"SELECT count(*) FROM {quoted}")[0][0])  # noqa: S608 (table name validated by _TABLE)  # nosec B608
    return counts


def snapshot_path(snapshot: Snapshot) -> Path:
    return Path(settings.SNAPSHOT_DIR) / snapshot.file_name


def media_path(snapshot: Snapshot) -> Path | None:
    if not snapshot.media_file_name:
        return None
    return Path(settings.SNAPSHOT_DIR) / snapshot.media_file_name


# Create -------------------------------------------------------------------------------


def snapshot_create(*, actor: str, progress: Progress = _quiet) -> Snapshot:
    folder = Path(settings.SNAPSHOT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    vendor = _vendor()
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    name = f"rdk-{stamp}-{secrets.token_hex(3)}.{'dump' if vendor == 'postgresql' else 'sqlite3'}"
    final = folder / name
    partial = folder / (name + ".partial")
    started = time.perf_counter()
    try:
        if vendor == "postgresql":
            counts = _pg_dump(partial, progress)
        elif vendor == "sqlite":
            counts = _sqlite_dump(partial, progress)
        else:
            raise SnapshotError(f"Snapshots support PostgreSQL and SQLite, not {vendor}.")
        partial.rename(final)
        progress("archive media")
        media = _media_archive(folder / (name.rsplit(".", 1)[0] + ".media.tar.gz"))
    except BaseException:
        partial.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
        audit_record(action="snapshot.create", actor=actor, target=name, outcome="failed")
        raise
    progress("checksum")
    snapshot = Snapshot.objects.create(
        **media,
        created_at=timezone.now(),
        file_name=name,
        engine=vendor,
        size_bytes=final.stat().st_size,
        sha256=sha256_file(final),
        row_counts=counts,
        duration_ms=int((time.perf_counter() - started) * 1000),
        created_by=actor,
    )
    audit_record(
        action="snapshot.create",
        actor=actor,
        target=name,
        size_bytes=snapshot.size_bytes,
        sha256=snapshot.sha256,
        media_files=snapshot.media_file_count,
    )
    return snapshot


def _media_archive(path: Path) -> dict[str, Any]:
    """Archive MEDIA_ROOT (every regular file, paths relative to it) into `path`."""
    root = Path(settings.MEDIA_ROOT)
    partial = path.with_name(path.name + ".partial")
    count = 0
    try:
        with tarfile.open(partial, "w:gz") as archive:
            if root.is_dir():
                for file in sorted(root.rglob("*")):
                    if file.is_file() and not file.is_symlink():
                        archive.add(file, arcname=str(file.relative_to(root)), recursive=False)
                        count += 1
        partial.rename(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise SnapshotError(f"Archiving MEDIA_ROOT failed: {exc.strerror or exc}.") from None
    return {
        "media_file_name": path.name,
        "media_size_bytes": path.stat().st_size,
        "media_sha256": sha256_file(path),
        "media_file_count": count,
    }


def _pg_dump(path: Path, progress: Progress) -> dict[str, int | None]:
    db = _db()
    # One exported snapshot for the counts and the dump: both see the same rows.
    with _pg_connect(db, db["NAME"]) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot_id = _first_value(conn.execute("SELECT pg_export_snapshot()"))
        progress("counting key tables")
        counts = row_counts(RestoredDatabase(conn, "postgresql"))
        progress("pg_dump")
        result = _run(
            [
                PG_DUMP,
                *_pg_args(db),
                "--format=custom",
                "--enable-row-security",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot_id}",
                f"--file={path}",
                str(db["NAME"]),
            ],
            _pg_env(db),
        )
        conn.rollback()
    if result.returncode != 0:
        raise SnapshotError(f"pg_dump failed: {_last_line(result.stderr)}")
    return counts


def _sqlite_dump(path: Path, progress: Progress) -> dict[str, int | None]:
    source = sqlite3.connect(str(_db()["NAME"]))
    target = sqlite3.connect(str(path))
    try:
        progress("sqlite backup")
        source.backup(target)
        progress("counting key tables")
        return row_counts(RestoredDatabase(target, "sqlite"))
    finally:
        target.close()
        source.close()


def snapshot_prune(*, keep: int, actor: str) -> int:
    """Delete all but the newest `keep` snapshot files and records."""
    if keep < 1:
        raise SnapshotError("Keep at least one snapshot.")
    old = list(Snapshot.objects.all()[keep:])
    for snapshot in old:
        snapshot_path(snapshot).unlink(missing_ok=True)
        if media := media_path(snapshot):
            media.unlink(missing_ok=True)
        snapshot.delete()
    if old:
        audit_record(action="snapshot.prune", actor=actor, target=f"{len(old)} snapshot(s)")
    return len(old)


# Verify -------------------------------------------------------------------------------


def _record(
    *,
    kind: str,
    snapshot: Snapshot | None,
    started_at: datetime,
    started: float,
    problems: list[str],
    details: dict[str, Any],
    actor: str,
) -> SnapshotCheck:
    check = SnapshotCheck.objects.create(
        snapshot=snapshot,
        kind=kind,
        ok=not problems,
        started_at=started_at,
        duration_ms=int((time.perf_counter() - started) * 1000),
        problems=problems,
        details=details,
        actor=actor,
    )
    audit_record(
        action=f"snapshot.{kind}",
        actor=actor,
        target=snapshot.file_name if snapshot else "no snapshot",
        outcome="ok" if check.ok else "failed",
        problems=problems,
    )
    return check


def _file_problems(snapshot: Snapshot) -> list[str]:
    path = snapshot_path(snapshot)
    if not path.exists():
        return [f"The file {snapshot.file_name} is missing from the snapshot folder."]
    if path.stat().st_size != snapshot.size_bytes:
        return [
            f"The file is {path.stat().st_size} bytes, not the {snapshot.size_bytes} recorded: "
            "it was changed or truncated."
        ]
    if sha256_file(path) != snapshot.sha256:
        return ["The checksum does not match what was recorded: the file is corrupted."]
    return _media_problems(snapshot)


def _media_problems(snapshot: Snapshot) -> list[str]:
    media = media_path(snapshot)
    if media is None:
        return []
    if not media.exists():
        return [f"The media archive {snapshot.media_file_name} is missing from the snapshots."]
    if (
        media.stat().st_size != snapshot.media_size_bytes
        or sha256_file(media) != snapshot.media_sha256
    ):
        return ["The media archive's checksum does not match what was recorded: it is corrupted."]
    return []


def snapshot_verify(
    *, actor: str, max_age_hours: int | None = None, progress: Progress = _quiet
) -> SnapshotCheck:
    started, started_at = time.perf_counter(), timezone.now()
    max_age = settings.SNAPSHOT_MAX_AGE_HOURS if max_age_hours is None else max_age_hours
    snapshot = Snapshot.objects.first()
    problems: list[str] = []
    details: dict[str, Any] = {"max_age_hours": max_age}
    if snapshot is None:
        problems.append("No snapshot has been taken yet.")
    else:
        age = timezone.now() - snapshot.created_at
        details["age_hours"] = round(age.total_seconds() / 3600, 2)
        if age > timedelta(hours=max_age):
            problems.append(
                f"The latest snapshot is {details['age_hours']} h old, older than {max_age} h."
            )
        progress("checksum")
        file_problems = _file_problems(snapshot)
        problems += file_problems
        if not file_problems:
            progress("readability")
            problems += _readable_problems(snapshot)
    return _record(
        kind=SnapshotCheck.Kind.VERIFY,
        snapshot=snapshot,
        started_at=started_at,
        started=started,
        problems=problems,
        details=details,
        actor=actor,
    )


def _readable_problems(snapshot: Snapshot) -> list[str]:
    path = snapshot_path(snapshot)
    if not path.exists():
        return []
    if snapshot.engine == "postgresql":
        result = _run([PG_RESTORE, "--list", str(path)], _pg_env(_db()), timeout=600)
        if result.returncode != 0:
            return [f"pg_restore cannot read the archive: {_last_line(result.stderr)}"]
        return []
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            status = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [f"SQLite cannot read the file: {exc}"]
    return [] if status == "ok" else [f"SQLite quick_check: {status}"]


# Restore check ------------------------------------------------------------------------


def snapshot_restore_check(*, actor: str, progress: Progress = _quiet) -> SnapshotCheck:
    started, started_at = time.perf_counter(), timezone.now()
    snapshot = Snapshot.objects.first()
    problems: list[str] = []
    details: dict[str, Any] = {}
    if snapshot is None:
        problems.append("No snapshot has been taken yet.")
    else:
        progress("checksum")
        problems += _file_problems(snapshot)
        if not problems:
            restore = (
                _pg_restore_check if snapshot.engine == "postgresql" else _sqlite_restore_check
            )
            problems += restore(snapshot, details, progress)
    return _record(
        kind=SnapshotCheck.Kind.RESTORE_CHECK,
        snapshot=snapshot,
        started_at=started_at,
        started=started,
        problems=problems,
        details=details,
        actor=actor,
    )


def _run_checks(target: RestoredDatabase, details: dict[str, Any], progress: Progress) -> list[str]:
    problems: list[str] = []
    results: dict[str, dict[str, Any]] = {}
    began = time.perf_counter()
    for name, check in integrity_checks().items():
        progress(f"check {name}")
        try:
            found = list(check(target))
        except Exception as exc:  # a broken check is a failed check, not a crash
            found = [f"the check itself failed: {type(exc).__name__}: {str(exc)[:200]}"]
        results[name] = {"ok": not found, "problems": found}
        problems += [f"{name}: {problem}" for problem in found]
    details["checks"] = results
    details["checks_ms"] = int((time.perf_counter() - began) * 1000)
    return problems


def _pg_restore_check(snapshot: Snapshot, details: dict[str, Any], progress: Progress) -> list[str]:
    with scratch_database("rdk_restorecheck", progress) as target:
        details["database"] = target["NAME"]
        problem = pg_restore_into(snapshot, target, details, progress)
        if problem:
            problems = [problem]
        else:
            with _pg_connect(target, target["NAME"], autocommit=True) as restored:
                checked = RestoredDatabase(restored, "postgresql", dict(snapshot.row_counts))
                problems = _run_checks(checked, details, progress)
    details["dropped"] = True
    return problems


def _sqlite_restore_check(
    snapshot: Snapshot, details: dict[str, Any], progress: Progress
) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="rdk-restorecheck-") as folder:
        copy = Path(folder) / "restored.sqlite3"
        began = time.perf_counter()
        shutil.copyfile(snapshot_path(snapshot), copy)
        try:
            restored = sqlite3.connect(str(copy))
            restored.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:
            return [f"SQLite cannot open the restored copy: {exc}"]
        details["restore_ms"] = int((time.perf_counter() - began) * 1000)
        try:
            target = RestoredDatabase(restored, "sqlite", dict(snapshot.row_counts))
            return _run_checks(target, details, progress)
        finally:
            restored.close()
            details["dropped"] = True


# Restore into an instance ---------------------------------------------------------------


@dataclass
class RestoreResult:
    """What `snapshot_restore` did, and what to point at the restored instance."""

    check: SnapshotCheck
    database_url: str  # the target, password masked
    media_root: Path
    media_files: int
    rls: list[TableAudit] = field(default_factory=list)

    def repoint(self) -> list[str]:
        """The runbook's "update .env.staging, redeploy" as lines to act on."""
        return [
            f"DATABASE_URL={self.database_url}  (with its real password)",
            f"MEDIA_ROOT={self.media_root}",
            "Put both in the instance's environment file (e.g. .env.staging), then run "
            "`manage.py envcheck --env-file …`, redeploy, and check /readyz and `rls_audit`.",
        ]


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _same_database(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def where(db: dict[str, Any]) -> tuple[str, str, str]:
        host = str(db.get("HOST") or "localhost")
        host = "localhost" if host in ("127.0.0.1", "::1", "") else host
        return host, str(db.get("PORT") or "5432"), str(db.get("NAME"))

    return where(a) == where(b)


def _target_settings(url: str) -> dict[str, Any]:
    if urlsplit(url).scheme.lower() not in POSTGRES_SCHEMES:
        raise SnapshotError(
            "The target must be a PostgreSQL URL: postgres://USER:PASSWORD@HOST:PORT/NAME."
        )
    try:
        target = database_settings(url)
    except Exception:  # a malformed URL; the message must not echo it (password)
        raise SnapshotError("The target URL could not be parsed.") from None
    if not target.get("NAME"):
        raise SnapshotError("The target URL names no database.")
    if _vendor() == "postgresql" and _same_database(target, _db()):
        raise SnapshotError(
            "The target is the live database this RDK uses: restoring there would overwrite "
            "production data. Restore into a separate database and re-point to it."
        )
    return target


def _user_tables(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    tables: int = _first_value(
        conn.execute(
            "SELECT count(*) FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
    )
    return tables


def _media_target(media_root: str | None, database: str, *, force: bool) -> Path:
    path = Path(media_root) if media_root else Path(settings.SNAPSHOT_DIR) / f"media-{database}"
    if path.resolve() == Path(settings.MEDIA_ROOT).resolve():
        raise SnapshotError(
            "The media folder is this RDK's live MEDIA_ROOT: restore uploads into the "
            "restored instance's own folder (--media-root)."
        )
    if path.exists() and any(path.iterdir()) and not force:
        raise SnapshotError(f"The media folder {path} is not empty; pass --force to replace it.")
    return path


def _media_restore(snapshot: Snapshot, folder: Path) -> int:
    archive = media_path(snapshot)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    if archive is None:
        return 0
    with tarfile.open(archive, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        # The "data" filter refuses absolute paths, "..", links and devices.
        tar.extractall(folder, members=members, filter="data")  # nosec B202
    return len(members)


def snapshot_restore(
    *,
    snapshot: Snapshot,
    into: str,
    actor: str,
    force: bool = False,
    media_root: str | None = None,
    progress: Progress = _quiet,
) -> RestoreResult:
    """Restore `snapshot` into the PostgreSQL database at `into` (RUNBOOK §5.2).

    Refuses the live database outright and a target holding tables unless
    `force` (its public schema is then dropped and recreated). Restores the
    uploads into `media_root` (by default a folder beside the snapshots named
    for the target), runs every integrity check and the row-security audit on
    the target, and records the result as a `restore` check."""
    if snapshot.engine != "postgresql":
        raise SnapshotError("Restoring into an instance needs a PostgreSQL snapshot.")
    target = _target_settings(into)
    media_folder = _media_target(media_root, str(target["NAME"]), force=force)
    started, started_at = time.perf_counter(), timezone.now()
    details: dict[str, Any] = {"database": str(target["NAME"]), "media_root": str(media_folder)}
    problems = _file_problems(snapshot)
    audits: list[TableAudit] = []
    media_files = 0
    if not problems:
        try:
            with _pg_connect(target, str(target["NAME"]), autocommit=True) as conn:
                tables = _user_tables(conn)
                if tables and not force:
                    raise SnapshotError(
                        f"The target database holds {tables} table(s); "
                        "pass --force to replace them."
                    )
                if tables:
                    progress("empty the target's public schema")
                    conn.execute("DROP SCHEMA public CASCADE")
                    conn.execute("CREATE SCHEMA public")
        except psycopg.Error as exc:
            raise SnapshotError(f"Cannot use the target database: {_last_line(str(exc))}") from None
        problems, audits = _restore_into(snapshot, target, details, progress)
        progress("restore media")
        media_files = _media_restore(snapshot, media_folder)
        details["media_files"] = media_files
    check = _record(
        kind=SnapshotCheck.Kind.RESTORE,
        snapshot=snapshot,
        started_at=started_at,
        started=started,
        problems=problems,
        details=details,
        actor=actor,
    )
    return RestoreResult(
        check=check,
        database_url=_masked(into),
        media_root=media_folder,
        media_files=media_files,
        rls=audits,
    )


def _restore_into(
    snapshot: Snapshot, target: dict[str, Any], details: dict[str, Any], progress: Progress
) -> tuple[list[str], list[TableAudit]]:
    problem = pg_restore_into(snapshot, target, details, progress)
    if problem:
        return [problem], []
    with _pg_connect(target, str(target["NAME"]), autocommit=True) as restored:
        checked = RestoredDatabase(restored, "postgresql", dict(snapshot.row_counts))
        problems = _run_checks(checked, details, progress)
        progress("rls_audit")
        audits = rls_audit(connection=restored)
    details["rls_audit"] = {a.table: a.problems for a in audits}
    problems += [f"rls_audit {a.table}: {'; '.join(a.problems)}" for a in audits if a.problems]
    return problems, audits


def pg_restore_into(
    snapshot: Snapshot, target: dict[str, Any], details: dict[str, Any], progress: Progress
) -> str:
    """pg_restore `snapshot` into the (empty) database `target`; a problem or ""."""
    began = time.perf_counter()
    progress("pg_restore")
    result = _run(
        [
            PG_RESTORE,
            *_pg_args(target),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={target['NAME']}",
            str(snapshot_path(snapshot)),
        ],
        _pg_env(target),
    )
    details["restore_ms"] = int((time.perf_counter() - began) * 1000)
    if result.returncode != 0:
        return f"pg_restore failed: {_last_line(result.stderr)}"
    return ""


@contextmanager
def scratch_database(prefix: str, progress: Progress = _quiet) -> Iterator[dict[str, Any]]:
    """A fresh database beside RDK's own (created as RDK's role), dropped on exit;
    yields its connection settings."""
    db = _db()
    name = f"{prefix}_{secrets.token_hex(4)}"
    with _pg_connect(db, db["NAME"], autocommit=True) as admin:
        progress(f"create database {name}")
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield {**db, "NAME": name}
        finally:
            progress(f"drop database {name}")
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
