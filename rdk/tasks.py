"""Platform tasks (django.tasks; see rdk/jobs.py)."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.core.management import call_command
from django.tasks import task

from rdk.jobs import scheduled


@scheduled("30 4 * * *", every=timedelta(days=1))
@task
def clearsessions() -> None:
    """Delete expired sessions: what Django's `manage.py clearsessions` does."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


# Successful tasks are kept 15 days: the weekly restore check's last success
# must still be there when /jobs/health asks (2 periods). Failed tasks are
# kept until someone retries them: they are never lost.
TASK_RESULTS_KEEP_DAYS = 15


@scheduled("50 4 * * *", every=timedelta(days=1))
@task
def prune_task_results() -> None:
    """Delete finished tasks older than TASK_RESULTS_KEEP_DAYS, failed ones
    excepted: django-tasks-db's own `manage.py prune_db_task_results`."""
    call_command(
        "prune_db_task_results",
        "--min-age-days",
        str(TASK_RESULTS_KEEP_DAYS),
        "--failed-min-age-days",
        "36500",
        verbosity=0,
    )
