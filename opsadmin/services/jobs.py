"""Operator actions on background tasks (rdk/jobs.py): retry a failed task,
run a scheduled task now. Each is audited."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.tasks import Task
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks_db.models import DBTaskResult

from opsadmin.exceptions import JobError
from rdk.audit import audit_record
from rdk.jobs import scheduled_tasks


def _retryable(now: datetime) -> Q:
    """Failed, or running for so long that its worker has surely died."""
    stuck_before = now - timedelta(minutes=settings.JOBS_HEALTH_RUNNING_MAX_MINUTES)
    return Q(status=TaskResultStatus.FAILED) | Q(
        status=TaskResultStatus.RUNNING, started_at__lt=stuck_before
    )


@transaction.atomic
def job_retry(*, task_id: str, actor: str, ip: str = "") -> DBTaskResult[..., Any]:
    """Put a failed (or stuck running) task back in the queue, due now. The
    same row runs again, so its attempt history stays in one place."""
    try:
        key = uuid.UUID(str(task_id))
    except ValueError:
        raise JobError(f"{task_id!r} is not a task id.") from None
    now = timezone.now()
    job = DBTaskResult.objects.select_for_update().filter(id=key).first()
    if job is None:
        raise JobError(f"No task {key}.")
    if not DBTaskResult.objects.filter(_retryable(now), id=key).exists():
        raise JobError(
            f"Task {key} is {job.status.lower()}: only failed tasks, or tasks running longer "
            f"than {settings.JOBS_HEALTH_RUNNING_MAX_MINUTES} min, can be retried."
        )
    previous = job.status
    job.status = TaskResultStatus.READY
    job.run_after = now
    job.finished_at = None
    job.save(update_fields=["status", "run_after", "finished_at"])
    audit_record(
        action="job.retry",
        actor=actor,
        target=f"{job.task_name} {key}",
        ip=ip,
        previous_status=previous,
        attempts=len(job.worker_ids),
    )
    return job


def job_retry_failed(*, actor: str, ip: str = "") -> int:
    """Retry every failed task; returns how many."""
    ids = list(
        DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).values_list("id", flat=True)
    )
    for task_id in ids:
        job_retry(task_id=str(task_id), actor=actor, ip=ip)
    return len(ids)


def job_run_now(*, name: str, actor: str, ip: str = "") -> str:
    """Enqueue a scheduled task now, outside its schedule; returns the task id."""
    schedule = next((s for s in scheduled_tasks() if s.name == name), None)
    if schedule is None:
        raise JobError(f"No scheduled task named {name!r}.")
    task: Task[[], Any] = import_string(schedule.task_path)
    result = task.enqueue()
    audit_record(action="job.run_now", actor=actor, target=f"{name} {result.id}", ip=ip)
    return result.id
