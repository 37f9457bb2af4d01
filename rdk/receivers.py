"""Signal receivers of the platform, connected in `RdkConfig.ready()`."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django_tasks_db.backend import TaskResult as DatabaseTaskResult

from rdk.jobs import requeue_orphans, requeue_transient_failure

logger = logging.getLogger(__name__)


def task_finished_requeue_transient(sender: object, task_result: object, **kwargs: object) -> None:
    """A task that failed on a transient error goes back in the queue while it
    has attempts left. Only the database backend has a queue to go back to.

    Judged by the result, not the sender: django-tasks-db sends the backend
    instance after a success and its class after a failure. An exception here
    would mark a successful task failed, so the checks are plain attribute reads."""
    if isinstance(task_result, DatabaseTaskResult):
        requeue_transient_failure(task_result=task_result)


def task_finished_requeue_orphans(sender: object, task_result: object, **kwargs: object) -> None:
    """Whenever a task finishes, the runs a dead worker left behind go back in
    the queue (rdk.jobs.requeue_orphans). A database error here is logged, not
    raised: it must not turn the finished task into a failed one."""
    if not isinstance(task_result, DatabaseTaskResult):
        return
    try:
        requeue_orphans()
    except DatabaseError:
        logger.exception("task.orphan_sweep_failed")
