"""Tasks the job tests enqueue (a worker imports them by path)."""

from django.tasks import task

from rdk.jobs import retry_on


@task
@retry_on(ConnectionError, attempts=3)
def always_down() -> None:
    raise ConnectionError("connection refused")


@task
def broken() -> None:
    raise ValueError("a bug, not worth retrying")
