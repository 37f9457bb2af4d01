"""Scheduled snapshot work (RUNBOOK §5), the tasks behind `manage.py snapshot`."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from opsadmin.services import snapshots
from rdk.jobs import scheduled

ACTOR = "scheduler"


@scheduled("15 3 * * *", every=timedelta(days=1))
@task
def snapshot_create_and_verify() -> dict:
    """Take the daily snapshot, then verify it. A failed verify is recorded
    (and /jobs/health turns 503); the task fails too so the Jobs page shows it."""
    snapshot = snapshots.snapshot_create(actor=ACTOR)
    check = snapshots.snapshot_verify(actor=ACTOR)
    if not check.ok:
        raise RuntimeError("Snapshot verify failed: " + " ".join(check.problems))
    return {"snapshot": snapshot.file_name, "verify_ms": check.duration_ms}


@scheduled("45 3 * * sun", every=timedelta(days=7))
@task
def snapshot_restore_check() -> dict:
    """Restore the latest snapshot into a throw-away database and run the
    integrity checks there (weekly)."""
    check = snapshots.snapshot_restore_check(actor=ACTOR)
    if not check.ok:
        raise RuntimeError("Restore check failed: " + " ".join(check.problems))
    return {"restore_check_ms": check.duration_ms}
