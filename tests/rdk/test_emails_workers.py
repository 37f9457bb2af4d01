"""Emails with real worker processes on PostgreSQL: a worker killed in the
middle of a send loses nothing (its orphaned task is queued again on its own,
or by an operator), and two workers on the same email send it once.

A real SMTP server runs on loopback in this process; its handler holds the
sending worker at a known point (an event, not a sleep) while the test acts."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import subprocess
import threading

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from opsadmin.services.jobs import job_retry
from rdk.emails import deliver_email, email_send_once, message_id
from rdk.models import OutboundEmail
from tests.jobs import DEADLINE, start_db_worker, wait_for
from tests.rdk.test_emails import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class HeldInbox:
    """Accepts mail; the first recipient of the first session is held until
    `release` is set (the worker is then inside its send, holding the lock)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.held = threading.Event()
        self.release = threading.Event()
        self.hold_next = True

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.hold_next:
            self.hold_next = False
            self.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, DEADLINE)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 Message accepted"


@pytest.fixture
def inbox():
    handler = HeldInbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.email_url = f"smtp://127.0.0.1:{port}"
    yield handler
    handler.release.set()
    controller.stop()


def start_worker(
    inbox: HeldInbox, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen:
    return start_db_worker(
        *extra,
        env={"EMAIL_URL": inbox.email_url, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def run_batch(inbox: HeldInbox, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    worker = start_worker(inbox, "--batch", env=env)
    out, _ = worker.communicate(timeout=DEADLINE)
    return subprocess.CompletedProcess(worker.args, worker.returncode, out)


def blocked_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0] > 0


def queue_email(user: int = 42) -> OutboundEmail:
    return email_send_once(
        key=f"account:{user}:welcome",
        kind="welcome",
        to="ann@rdk.test",
        context={"name": "Ann", "email": "ann@rdk.test"},
    )


def message_ids(inbox: HeldInbox) -> list[str]:
    return [
        line.split(b":", 1)[1].strip().decode()
        for message in inbox.messages
        for line in message.splitlines()
        if line.lower().startswith(b"message-id:")
    ]


def test_a_worker_killed_mid_send_loses_nothing_and_a_retry_sends_once(inbox, settings):
    email = queue_email()
    worker = start_worker(inbox)
    assert inbox.held.wait(DEADLINE), "the worker never reached the SMTP server"

    worker.send_signal(signal.SIGKILL)  # killed inside the send
    worker.wait(timeout=DEADLINE)
    inbox.release.set()

    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.QUEUED  # its transaction died with it
    task = DBTaskResult.objects.get(task_path="rdk.emails.deliver_email")
    assert task.status == TaskResultStatus.RUNNING  # stuck: visible on /jobs/health
    # Past JOBS_HEALTH_RUNNING_MAX_MINUTES an operator retries it.
    DBTaskResult.objects.filter(pk=task.pk).update(
        started_at=timezone.now()
        - dt.timedelta(minutes=settings.JOBS_HEALTH_RUNNING_MAX_MINUTES + 1)
    )
    job_retry(task_id=str(task.pk), actor="ops")

    done = run_batch(inbox)

    assert done.returncode == 0, done.stdout
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert len(inbox.messages) == 1


def test_a_worker_killed_mid_send_has_its_email_sent_once_with_no_operator(inbox):
    email = queue_email()
    worker = start_worker(inbox)
    assert inbox.held.wait(DEADLINE), "the worker never reached the SMTP server"
    worker.send_signal(signal.SIGKILL)  # killed inside the send: its task stays RUNNING
    worker.wait(timeout=DEADLINE)
    inbox.release.set()
    later = queue_email(user=43)  # the shop goes on: another task to run

    # The next worker finishes the other task, finds the dead run past its
    # bound (0 s here; EMAIL_TASK_ORPHANED_SECONDS) and runs it again.
    done = run_batch(inbox, env={"EMAIL_TASK_ORPHANED_SECONDS": "0"})

    assert done.returncode == 0, done.stdout
    for each in (email, later):
        each.refresh_from_db()
        assert each.status == OutboundEmail.Status.SENT
    assert sorted(message_ids(inbox)) == sorted([message_id(email), message_id(later)])
    task = DBTaskResult.objects.get(
        task_path="rdk.emails.deliver_email", args_kwargs__kwargs={"email_id": email.pk}
    )
    assert task.status == TaskResultStatus.SUCCESSFUL
    assert len(task.worker_ids) == 2  # the dead run, then the one that sent it


def test_two_workers_on_the_same_email_send_it_once(inbox):
    email = queue_email()
    deliver_email.enqueue(email_id=email.pk)  # a duplicated delivery task
    first = start_worker(inbox, "--max-tasks", "1")
    assert inbox.held.wait(DEADLINE)
    second = start_worker(inbox, "--max-tasks", "1")
    wait_for(blocked_on_a_lock, "the second worker to wait for the email's lock")
    inbox.release.set()

    for worker in (first, second):
        out, _ = worker.communicate(timeout=DEADLINE)
        assert worker.returncode == 0, out

    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert len(inbox.messages) == 1
    results = DBTaskResult.objects.filter(task_path="rdk.emails.deliver_email")
    assert sorted(r.return_value for r in results) == ["already sent", "sent"]
