"""Helpers for tests of background tasks (rdk/jobs.py, django-tasks-db)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from django.db import connection
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from rdk.jobs import scheduled_tasks
from tests.conftest import BASE_DIR

DEADLINE = 60  # seconds a wait on a worker may take before the test fails


def drain_tasks(*, limit: int = 50) -> int:
    """Run every due task in this process with django-tasks-db's own
    `Worker.run_task` (claim, run, record, signals), as `db_worker` does,
    without its loop, which closes connections (the test's transaction).
    Returns how many ran."""
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    ran = 0
    while ran < limit and (row := DBTaskResult.objects.ready().first()) is not None:
        row.claim(worker.worker_id)
        worker.run_task(row)
        ran += 1
    return ran


def schedule_on_time() -> None:
    """Record a success just now for every scheduled task."""
    now = timezone.now()
    for schedule in scheduled_tasks():
        DBTaskResult.objects.create(
            task_path=schedule.task_path,
            args_kwargs={"args": [], "kwargs": {}},
            backend_name="default",
            status=TaskResultStatus.SUCCESSFUL,
            finished_at=now,
            started_at=now,
        )


def worker_env() -> dict[str, str]:
    """The environment that points a `manage.py db_worker` subprocess at this
    test's database."""
    db = connection.settings_dict
    return {
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
    }


def start_db_worker(*args: str, env: dict[str, str] | None = None, **popen) -> subprocess.Popen:
    """A real `manage.py db_worker` process on this test's database (PostgreSQL:
    it must see what the test commits), with `env` added to this process's
    environment. The caller stops it (terminate, or kill to simulate a crash)."""
    return subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), "db_worker", "--no-startup-delay", *args],
        cwd=BASE_DIR,
        env={**os.environ, **worker_env(), **(env or {})},
        text=True,
        **popen,
    )


def wait_for(condition: Callable[[], object], what: str, *, deadline: float = DEADLINE) -> None:
    """Poll `condition` until it is true; fail the test, naming `what`, past the deadline."""
    give_up = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > give_up:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)  # polling a condition with a deadline, not timing the test
