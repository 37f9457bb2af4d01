"""`GET /jobs/health`: is the background work keeping up? (RUNBOOK §13
"Background work stalls".)

Three areas, each with its figures and the thresholds it is judged by:

- webhooks: the Stripe inbox by status; a failed event older than
  JOBS_HEALTH_FAILED_EVENT_MINUTES (15) or an event still `received` (never
  finished) older than JOBS_HEALTH_RECEIVED_EVENT_MINUTES (5) fails;
- snapshots: the latest snapshot younger than SNAPSHOT_MAX_AGE_HOURS (26),
  the last verify not failed, the last restore check passed and younger than
  JOBS_HEALTH_RESTORE_CHECK_MAX_AGE_DAYS (8);
- reservations: no active reservation expired more than
  JOBS_HEALTH_RESERVATION_OVERDUE_MINUTES (10) ago (the release job runs
  every minute);
- tasks (the django.tasks queue, rdk/jobs.py): no more than
  JOBS_HEALTH_QUEUE_DEPTH_MAX (500) tasks due, none due for longer than
  JOBS_HEALTH_QUEUE_AGE_MINUTES (5: the workers are not keeping up, or none
  runs), none running longer than JOBS_HEALTH_RUNNING_MAX_MINUTES (120: its
  worker probably died), no more than JOBS_HEALTH_FAILED_TASKS_MAX (0) failed;
- schedule: each scheduled task succeeded within JOBS_HEALTH_SCHEDULE_SLACK
  (2) of its periods (is `manage.py crontask` running?).

Cross-shopper counts run under the service row-security scope, asked for here
explicitly: the endpoint has no session and no user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import overload

from django.conf import settings
from django.utils import timezone

from opsadmin import selectors
from opsadmin.models import SnapshotCheck
from orders.selectors import reservations_awaiting_release
from payments.selectors import event_backlog
from rdk.jobs import jobs_backlog, scheduled_tasks
from rdk.rls import rls_service_scope


def thresholds() -> dict[str, int]:
    return {
        "failed_event_minutes": settings.JOBS_HEALTH_FAILED_EVENT_MINUTES,
        "received_event_minutes": settings.JOBS_HEALTH_RECEIVED_EVENT_MINUTES,
        "snapshot_max_age_hours": settings.SNAPSHOT_MAX_AGE_HOURS,
        "restore_check_max_age_days": settings.JOBS_HEALTH_RESTORE_CHECK_MAX_AGE_DAYS,
        "reservation_overdue_minutes": settings.JOBS_HEALTH_RESERVATION_OVERDUE_MINUTES,
        "queue_depth_max": settings.JOBS_HEALTH_QUEUE_DEPTH_MAX,
        "queue_age_minutes": settings.JOBS_HEALTH_QUEUE_AGE_MINUTES,
        "running_max_minutes": settings.JOBS_HEALTH_RUNNING_MAX_MINUTES,
        "failed_tasks_max": settings.JOBS_HEALTH_FAILED_TASKS_MAX,
        "schedule_slack": settings.JOBS_HEALTH_SCHEDULE_SLACK,
    }


@overload
def _age(now: datetime, at: datetime) -> int: ...
@overload
def _age(now: datetime, at: datetime | None) -> int | None: ...
def _age(now: datetime, at: datetime | None) -> int | None:
    return None if at is None else max(0, int((now - at).total_seconds()))


def _minutes(seconds: int) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds // 60} min"


def duration_text(seconds: int | None) -> str:
    """A duration as a person reads it on the ops pages: 45 s, 12 min, 5.0 h, 7 days."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} days"
    return _minutes(seconds)


@dataclass
class JobsHealth:
    checked_at: datetime
    webhooks: dict
    snapshots: dict
    reservations: dict
    tasks: dict
    schedule: list[dict]
    thresholds: dict
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict:
        return {
            "status": "ok" if self.ok else "failing",
            "checked_at": self.checked_at.isoformat(),
            "problems": self.problems,
            "webhooks": self.webhooks,
            "snapshots": self.snapshots,
            "reservations": self.reservations,
            "tasks": self.tasks,
            "schedule": self.schedule,
            "thresholds": self.thresholds,
        }


def _webhooks(now: datetime, limits: dict, problems: list[str]) -> dict:
    backlog = event_backlog()
    received_age = _age(now, backlog.oldest_received_at)
    failed_age = _age(now, backlog.oldest_failed_at)
    found = []
    if failed_age is not None and failed_age > limits["failed_event_minutes"] * 60:
        found.append(
            f"{backlog.counts['failed']} failed Stripe event(s), the oldest received "
            f"{_minutes(failed_age)} ago: replay them (RUNBOOK §6)."
        )
    if received_age is not None and received_age > limits["received_event_minutes"] * 60:
        found.append(
            f"{backlog.counts['received']} Stripe event(s) received but never finished, "
            f"the oldest {_minutes(received_age)} ago."
        )
    problems += found
    return {
        "ok": not found,
        "counts": backlog.counts,
        "unprocessed": backlog.unprocessed,
        "oldest_received_age_seconds": received_age,
        "oldest_failed_age_seconds": failed_age,
        "oldest_unprocessed_age_seconds": _age(now, backlog.oldest_unprocessed_at),
    }


def _check(now: datetime, check: SnapshotCheck | None) -> dict:
    if check is None:
        return {"ok": None, "age_seconds": None, "problems": []}
    return {
        "ok": check.ok,
        "age_seconds": _age(now, check.started_at),
        "problems": list(check.problems),
    }


def _snapshots(now: datetime, limits: dict, problems: list[str]) -> dict:
    latest = selectors.snapshot_latest()
    verify = selectors.snapshot_check_last(SnapshotCheck.Kind.VERIFY)
    restore = selectors.snapshot_check_last(SnapshotCheck.Kind.RESTORE_CHECK)
    latest_age = _age(now, latest.created_at) if latest else None
    found = []
    if latest is None:
        found.append("No database snapshot has been taken (manage.py snapshot create).")
    elif latest_age > limits["snapshot_max_age_hours"] * 3600:
        found.append(
            f"The latest snapshot is {_minutes(latest_age or 0)} old, "
            f"older than {limits['snapshot_max_age_hours']} h."
        )
    if verify is not None and not verify.ok:
        found.append("The last snapshot verify failed: " + " ".join(verify.problems))
    if restore is None:
        found.append("No restore check has run (manage.py snapshot restore-check).")
    elif not restore.ok:
        found.append("The last restore check failed: " + " ".join(restore.problems))
    elif now - restore.started_at > timedelta(days=limits["restore_check_max_age_days"]):
        found.append(
            f"The last restore check ran {_minutes(_age(now, restore.started_at))} ago, "
            f"more than {limits['restore_check_max_age_days']} days."
        )
    problems += found
    return {
        "ok": not found,
        "latest": latest.file_name if latest else None,
        "latest_age_seconds": latest_age,
        "verify": _check(now, verify),
        "restore_check": _check(now, restore),
    }


def _reservations(now: datetime, limits: dict, problems: list[str]) -> dict:
    with rls_service_scope():
        backlog = reservations_awaiting_release(now=now)
    overdue = _age(now, backlog.oldest_expired_at)
    found = []
    if overdue is not None and overdue > limits["reservation_overdue_minutes"] * 60:
        found.append(
            f"{backlog.count} expired reservation(s) still hold stock, the oldest expired "
            f"{_minutes(overdue)} ago: is release_expired_reservations running?"
        )
    problems += found
    return {"ok": not found, "awaiting_release": backlog.count, "oldest_overdue_seconds": overdue}


def _tasks(now: datetime, backlog, limits: dict, problems: list[str]) -> dict:
    oldest_due = _age(now, backlog.oldest_due_at)
    oldest_running = _age(now, backlog.oldest_running_at)
    found = []
    if backlog.due > limits["queue_depth_max"]:
        found.append(
            f"{backlog.due} task(s) are waiting to run, more than {limits['queue_depth_max']}: "
            "add workers (docs/scaling.md)."
        )
    if oldest_due is not None and oldest_due > limits["queue_age_minutes"] * 60:
        found.append(
            f"The oldest waiting task has waited {_minutes(oldest_due)}: "
            "is `manage.py db_worker` running?"
        )
    if oldest_running is not None and oldest_running > limits["running_max_minutes"] * 60:
        found.append(
            f"A task has been running for {_minutes(oldest_running)}: its worker may have died; "
            "retry it from the ops console's Jobs page."
        )
    if backlog.failed > limits["failed_tasks_max"]:
        found.append(
            f"{backlog.failed} task(s) failed: see the ops console's Jobs page "
            "(or `manage.py tasks_failed`) and retry them."
        )
    problems += found
    return {
        "ok": not found,
        "due": backlog.due,
        "queued": backlog.queued,
        "oldest_due_age_seconds": oldest_due,
        "running": backlog.running,
        "oldest_running_age_seconds": oldest_running,
        "failed": backlog.failed,
    }


def _schedule(now: datetime, backlog, limits: dict, problems: list[str]) -> list[dict]:
    rows = []
    for schedule in scheduled_tasks():
        last = backlog.last_success.get(schedule.task_path)
        age = _age(now, last)
        allowed = int(schedule.every.total_seconds() * limits["schedule_slack"])
        if age is None:
            problems.append(
                f"Scheduled task {schedule.name} has never succeeded: "
                "is `manage.py crontask` running, with a worker?"
            )
        elif age > allowed:
            problems.append(
                f"Scheduled task {schedule.name} last succeeded {_minutes(age)} ago, "
                f"longer than {_minutes(allowed)}."
            )
        rows.append(
            {
                "task": schedule.name,
                "cron": schedule.cron,
                "ok": age is not None and age <= allowed,
                "last_success_age_seconds": age,
                "max_age_seconds": allowed,
            }
        )
    return rows


def jobs_health(*, now: datetime | None = None) -> JobsHealth:
    now = now or timezone.now()
    limits = thresholds()
    problems: list[str] = []
    backlog = jobs_backlog(now=now)
    return JobsHealth(
        checked_at=now,
        webhooks=_webhooks(now, limits, problems),
        snapshots=_snapshots(now, limits, problems),
        reservations=_reservations(now, limits, problems),
        tasks=_tasks(now, backlog, limits, problems),
        schedule=_schedule(now, backlog, limits, problems),
        thresholds=limits,
        problems=problems,
    )
