"""Background work on Django's task framework (`django.tasks`), the parts RDK
adds to the backend (django-tasks-db) and the scheduler (django-crontask).

- `retry_on(...)`: a task names the exceptions that are worth another try
  (SMTP down, a Stripe timeout). They reach the worker as `TransientError`; the
  `task_finished` receiver below puts such a failed task back in the queue,
  later each time (TASKS_RETRY_BASE_SECONDS, doubling), until its attempts are
  spent. Then it stays failed: visible on the ops console's Jobs page and in
  `manage.py tasks_failed`, and retryable from both. Any other exception fails
  the task at once: a bug does not get better by waiting.
- `retry_on(..., orphaned_after="SETTING")`: a task whose run is bounded (an
  email send: SMTP timeouts bound it) declares that bound, in seconds, as a
  setting. A run still `RUNNING` past it belongs to a worker that died (killed,
  OOM, host lost) and goes back in the queue on its own (`requeue_orphans`,
  swept whenever any task finishes, so at least every minute with the
  scheduler up). A task with no bound (a restore check runs for minutes, and
  cannot be told apart from a dead one by a timeout) waits for an operator's
  Retry, as before. A task that is retried on errors is already written to run
  again harmlessly, so a bound that is too short costs a wait, not a duplicate.
- `scheduled(...)`: a task on a cron schedule, with the period /jobs/health
  judges its last success by. `SCHEDULE` lists every scheduled task once the
  apps' `tasks` modules are imported (`scheduled_tasks()` imports them).
- `jobs_backlog()`: the queue's figures for /jobs/health and the ops home.

The database backend keeps each task as one row (`DBTaskResult`): a retry
re-queues the same row, so its `worker_ids` list is its attempt history.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from crontask import cron
from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.models import Case, Count, F, Max, Min, Q, When
from django.db.models.functions import Greatest
from django.tasks import Task, TaskResult
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

logger = logging.getLogger(__name__)

TRANSIENT_ERROR_PATH = "rdk.jobs.TransientError"


class TransientError(Exception):
    """A failure worth another try later (raised by `retry_on`)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    orphaned_after: str | None = None  # the setting: seconds a run may last


@dataclass(frozen=True)
class Schedule:
    task_path: str
    name: str
    cron: str
    every: timedelta


RETRY_POLICIES: dict[str, RetryPolicy] = {}
SCHEDULE: dict[str, Schedule] = {}


def retry_on[**P, R](
    *exceptions: type[BaseException], attempts: int = 6, orphaned_after: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Put under `@task`: these exceptions become `TransientError`, so the
    task runs again with backoff, `attempts` times in all. `orphaned_after`
    names the setting (seconds) past which a run is its dead worker's orphan
    and is queued again (`requeue_orphans`)."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except exceptions as exc:
                raise TransientError(f"{type(exc).__name__}: {exc}") from exc

        RETRY_POLICIES[f"{func.__module__}.{func.__qualname__}"] = RetryPolicy(
            attempts, orphaned_after
        )
        return wrapper

    return decorate


class ScheduledTask(Task[..., Any]):
    """A task the scheduler enqueues. The scheduler is one long-lived process
    with no request cycle, so Django never checks its database connection:
    after PostgreSQL restarted, every enqueue failed on the dead connection
    until the scheduler itself was restarted (`make chaos` found it). Each
    enqueue first lets Django drop a connection that is broken or too old,
    as it does around every request; never one inside a transaction (an
    operator's Run now, a test), which is the caller's to finish."""

    __slots__ = ()

    def enqueue(self, *args: Any, **kwargs: Any) -> TaskResult[Any, Any]:
        for conn in connections.all(initialized_only=True):
            if not conn.in_atomic_block:
                conn.close_if_unusable_or_obsolete()
        return Task.enqueue(self, *args, **kwargs)


def scheduled(
    cron_expression: str, *, every: timedelta
) -> Callable[[Task[..., Any]], Task[..., Any]]:
    """Put above `@task`: enqueue the task on a cron schedule (django-crontask,
    `manage.py crontask`); `every` is the schedule's period, the yardstick of
    /jobs/health's "last success" check."""

    def decorate(task: Task[..., Any]) -> Task[..., Any]:
        task = ScheduledTask(**{f.name: getattr(task, f.name) for f in fields(task)})
        task = cron(cron_expression)(task)
        SCHEDULE[task.module_path] = Schedule(task.module_path, task.name, cron_expression, every)
        return task

    return decorate


def scheduled_tasks() -> list[Schedule]:
    """Every scheduled task, in order of period: imports each app's `tasks`
    module, as the scheduler itself does."""
    for app in apps.get_app_configs():
        try:
            importlib.import_module(f"{app.name}.tasks")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app.name}.tasks":
                raise
    return sorted(SCHEDULE.values(), key=lambda schedule: (schedule.every, schedule.name))


def retry_delay(attempt: int) -> timedelta:
    """Backoff after the `attempt`-th failed try: base, 2×base, 4×base … capped at a day."""
    seconds = settings.TASKS_RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1)
    return timedelta(seconds=min(seconds, 86400))


def requeue_transient_failure(*, task_result: TaskResult[..., Any]) -> bool:
    """Called when a task finished: if it failed on a transient error and has
    attempts left, put its row back in the queue after the backoff. Returns
    whether it did. Only the database backend keeps rows to re-queue."""
    if task_result.status != TaskResultStatus.FAILED or not task_result.errors:
        return False
    if task_result.errors[-1].exception_class_path != TRANSIENT_ERROR_PATH:
        return False
    policy = RETRY_POLICIES.get(task_result.task.module_path)
    attempts = len(task_result.worker_ids)
    if policy is None or attempts >= policy.attempts:
        logger.warning(
            "task.retries_exhausted",
            extra={"task": task_result.task.name, "task_id": task_result.id, "attempts": attempts},
        )
        return False
    run_after = timezone.now() + retry_delay(attempts)
    requeued = DBTaskResult.objects.filter(
        id=task_result.id, status=TaskResultStatus.FAILED
    ).update(status=TaskResultStatus.READY, run_after=run_after, finished_at=None)
    logger.info(
        "task.retry_scheduled",
        extra={
            "task": task_result.task.name,
            "task_id": task_result.id,
            "attempt": attempts,
            "run_after": run_after.isoformat(),
        },
    )
    return bool(requeued)


def requeue_orphans(*, now: datetime | None = None) -> int:
    """Put back in the queue each run of a bounded task (`retry_on(...,
    orphaned_after=...)`) still RUNNING past its bound: its worker died in the
    middle. It keeps its attempts (its `worker_ids`); one whose attempts are
    spent stays RUNNING for /jobs/health and an operator. Returns how many."""
    now = now or timezone.now()
    requeued = 0
    for path, policy in RETRY_POLICIES.items():
        if policy.orphaned_after is None:
            continue
        bound = timedelta(seconds=getattr(settings, policy.orphaned_after))
        orphans = list(
            DBTaskResult.objects.filter(
                task_path=path, status=TaskResultStatus.RUNNING, started_at__lt=now - bound
            ).values_list("id", "worker_ids", "started_at")
        )
        for task_id, worker_ids, started_at in orphans:
            if len(worker_ids) >= policy.attempts:
                continue
            # Only if it is still the same run (no worker finished or re-claimed it).
            done = DBTaskResult.objects.filter(
                id=task_id, status=TaskResultStatus.RUNNING, started_at=started_at
            ).update(status=TaskResultStatus.READY, run_after=now, started_at=None)
            if done:
                requeued += 1
                logger.warning(
                    "task.orphan_requeued",
                    extra={"task": path, "task_id": str(task_id), "attempts": len(worker_ids)},
                )
    return requeued


@dataclass(frozen=True)
class JobsBacklog:
    queued: int
    due: int
    oldest_due_at: datetime | None
    running: int
    oldest_running_at: datetime | None
    failed: int
    last_success: dict[str, datetime | None]


def jobs_backlog(*, now: datetime | None = None) -> JobsBacklog:
    """The queue in two queries: counts and ages by state, and each task's
    last success."""
    now = now or timezone.now()
    # A task without run_after is stored with the far-future date as "no delay".
    due = Q(status=TaskResultStatus.READY) & (Q(run_after__lte=now) | Q(run_after=get_date_max()))
    figures = DBTaskResult.objects.aggregate(
        queued=Count("id", filter=Q(status=TaskResultStatus.READY)),
        due=Count("id", filter=due),
        running=Count("id", filter=Q(status=TaskResultStatus.RUNNING)),
        failed=Count("id", filter=Q(status=TaskResultStatus.FAILED)),
        oldest_running_at=Min("started_at", filter=Q(status=TaskResultStatus.RUNNING)),
        # A due task has waited since it was enqueued or, when it was enqueued
        # for later (a retry's backoff), since it became due.
        oldest_due_at=Min(
            Greatest(
                "enqueued_at",
                Case(When(run_after=get_date_max(), then=F("enqueued_at")), default=F("run_after")),
            ),
            filter=due,
        ),
    )
    last_success = dict(
        DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL)
        .values_list("task_path")
        .annotate(last=Max("finished_at"))
        .order_by()
    )
    return JobsBacklog(
        queued=figures["queued"],
        due=figures["due"],
        oldest_due_at=figures["oldest_due_at"],
        running=figures["running"],
        oldest_running_at=figures["oldest_running_at"],
        failed=figures["failed"],
        last_success=last_success,
    )
