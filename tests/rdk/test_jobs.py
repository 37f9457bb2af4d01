"""Background tasks: retries with backoff, failed tasks retried by an
operator, and the worker path on PostgreSQL with a real `db_worker` process."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from opsadmin.exceptions import JobError
from opsadmin.models import AuditEntry
from opsadmin.services.jobs import job_retry, job_run_now
from orders.models import Reservation, ReservationStatus
from orders.tasks import release_expired_reservations
from rdk.emails import deliver_email
from rdk.jobs import requeue_orphans, retry_delay, scheduled_tasks
from rdk.rls import rls_service_scope
from rdk.tasks import TASK_RESULTS_KEEP_DAYS, clearsessions, prune_task_results
from tests.catalog.factories import ProductFactory
from tests.jobs import drain_tasks, worker_env
from tests.orders.factories import order_for
from tests.rdk.jobs_tasks import always_down, broken
from tests.staff import make_user

pytestmark = pytest.mark.django_db


def row(result) -> DBTaskResult:
    return DBTaskResult.objects.get(id=result.id)


def test_tasks_go_to_the_database_queue_not_run_inline():
    result = clearsessions.enqueue()
    assert row(result).status == TaskResultStatus.READY


def test_a_transient_failure_is_retried_with_backoff_then_ends_failed(settings):
    settings.TASKS_RETRY_BASE_SECONDS = 30
    result = always_down.enqueue()
    before = timezone.now()
    assert drain_tasks() == 1
    job = row(result)
    assert job.status == TaskResultStatus.READY  # back in the queue, not failed
    assert job.exception_class_path == "rdk.jobs.TransientError"
    assert "ConnectionError: connection refused" in job.traceback
    assert (
        before + dt.timedelta(seconds=29)
        < job.run_after
        < timezone.now() + dt.timedelta(seconds=31)
    )
    assert drain_tasks() == 0  # not due yet: nothing runs before the backoff

    DBTaskResult.objects.filter(id=result.id).update(run_after=timezone.now())
    assert drain_tasks() == 1
    job = row(result)
    assert job.status == TaskResultStatus.READY
    assert job.run_after > timezone.now() + dt.timedelta(seconds=59)  # doubled

    DBTaskResult.objects.filter(id=result.id).update(run_after=timezone.now())
    assert drain_tasks() == 1
    job = row(result)
    assert job.status == TaskResultStatus.FAILED  # third attempt of three
    assert len(job.worker_ids) == 3


def test_backoff_doubles_and_is_capped(settings):
    settings.TASKS_RETRY_BASE_SECONDS = 30
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(30) == dt.timedelta(days=1)


def test_a_bug_fails_at_once():
    result = broken.enqueue()
    drain_tasks()
    job = row(result)
    assert job.status == TaskResultStatus.FAILED
    assert job.exception_class_path == "builtins.ValueError"
    assert len(job.worker_ids) == 1


def test_a_failed_task_is_retried_by_an_operator_and_audited():
    result = broken.enqueue()
    drain_tasks()
    job = job_retry(task_id=result.id, actor="ops-anna")
    assert job.status == TaskResultStatus.READY
    entry = AuditEntry.objects.get(action="job.retry")
    assert entry.actor == "ops-anna"
    assert "broken" in entry.target
    drain_tasks()
    assert len(row(result).worker_ids) == 2


def test_only_failed_or_stuck_tasks_can_be_retried(settings):
    result = clearsessions.enqueue()
    with pytest.raises(JobError, match="only failed tasks"):
        job_retry(task_id=result.id, actor="ops")
    with pytest.raises(JobError, match="not a task id"):
        job_retry(task_id="nope", actor="ops")
    DBTaskResult.objects.filter(id=result.id).update(
        status=TaskResultStatus.RUNNING,
        started_at=timezone.now()
        - dt.timedelta(minutes=settings.JOBS_HEALTH_RUNNING_MAX_MINUTES + 1),
    )
    assert job_retry(task_id=result.id, actor="ops").status == TaskResultStatus.READY


def test_run_now_enqueues_a_scheduled_task():
    task_id = job_run_now(name="clearsessions", actor="ops")
    assert DBTaskResult.objects.get(id=task_id).task_path == "rdk.tasks.clearsessions"
    with pytest.raises(JobError):
        job_run_now(name="rm_rf", actor="ops")


def test_tasks_failed_command_lists_and_retries(capsys):
    result = broken.enqueue()
    drain_tasks()
    with pytest.raises(CommandError, match="1 failed task"):
        call_command("tasks_failed")
    assert "ValueError: a bug" in capsys.readouterr().out
    call_command("tasks_failed", "--retry", result.id)
    assert row(result).status == TaskResultStatus.READY
    call_command("tasks_failed")
    assert "No failed task." in capsys.readouterr().out
    with pytest.raises(CommandError, match="only failed"):
        call_command("tasks_failed", "--retry", result.id)


def test_every_schedule_is_declared():
    assert {(s.name, s.cron) for s in scheduled_tasks()} == {
        ("release_expired_reservations", "* * * * *"),
        ("stripe_reconcile", "5 * * * *"),
        ("clearsessions", "30 4 * * *"),
        ("snapshot_create_and_verify", "15 3 * * *"),
        ("snapshot_restore_check", "45 3 * * sun"),
        ("prune_task_results", "50 4 * * *"),
    }


def test_clearsessions_task_deletes_expired_sessions():
    store = SessionStore()
    store.set_expiry(-10)
    store.save()
    clearsessions.call()
    assert not Session.objects.filter(session_key=store.session_key).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_process_runs_an_enqueued_task(manage):
    """The worker path: a task enqueued here, a `manage.py db_worker` process
    claims it, runs the service and records the success."""
    variant = ProductFactory(with_sizes=1).variants.first()
    order_for(make_user("shopper", staff=False), variant)
    with rls_service_scope():
        Reservation.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    result = release_expired_reservations.enqueue()

    done = manage("db_worker", "--batch", "--no-startup-delay", env=worker_env(), timeout=120)

    assert done.returncode == 0, done.stderr
    job = row(result)
    assert job.status == TaskResultStatus.SUCCESSFUL
    assert job.return_value == 1
    with rls_service_scope():
        assert not Reservation.objects.filter(status=ReservationStatus.ACTIVE).exists()


def test_pruning_keeps_recent_and_failed_tasks():
    old = timezone.now() - dt.timedelta(days=TASK_RESULTS_KEEP_DAYS + 1)
    done_long_ago, failed_long_ago, done_recently = (
        clearsessions.enqueue(),
        broken.enqueue(),
        clearsessions.enqueue(),
    )
    drain_tasks()
    DBTaskResult.objects.filter(id__in=[done_long_ago.id, failed_long_ago.id]).update(
        finished_at=old
    )
    prune_task_results.call()
    assert set(DBTaskResult.objects.values_list("id", flat=True)) == {
        uuid.UUID(failed_long_ago.id),
        uuid.UUID(done_recently.id),
    }


def _running(result, *, started_minutes_ago: int, workers: int = 1) -> None:
    DBTaskResult.objects.filter(id=result.id).update(
        status=TaskResultStatus.RUNNING,
        started_at=timezone.now() - dt.timedelta(minutes=started_minutes_ago),
        worker_ids=[f"dead-{n}" for n in range(workers)],
    )


def test_a_dead_workers_bounded_task_is_queued_again_unbounded_ones_wait(settings):
    settings.EMAIL_TASK_ORPHANED_SECONDS = 600
    orphan, young, spent = (deliver_email.enqueue(email_id=n) for n in (1, 2, 3))
    _running(orphan, started_minutes_ago=11)
    _running(young, started_minutes_ago=5)  # may still be sending
    _running(spent, started_minutes_ago=11, workers=10)  # attempts spent: for an operator
    unbounded = clearsessions.enqueue()  # no bound: a long task is not a dead one
    _running(unbounded, started_minutes_ago=600)

    assert requeue_orphans() == 1

    assert row(orphan).status == TaskResultStatus.READY
    assert row(orphan).worker_ids == ["dead-0"]  # the dead run still counts as an attempt
    for other in (young, spent, unbounded):
        assert row(other).status == TaskResultStatus.RUNNING


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_enqueues_again_after_postgresql_dropped_its_connection():
    from crontask import scheduler
    from django.db import connection

    (job,) = [j for j in scheduler.get_jobs() if j.name == "release_expired_reservations"]
    connection.ensure_connection()
    connection.connection.close()  # as a PostgreSQL restart leaves the scheduler's

    job.func()  # what the scheduler calls at each minute mark

    assert (
        DBTaskResult.objects.filter(task_path=release_expired_reservations.module_path).count() == 1
    )
