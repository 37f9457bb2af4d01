"""Emails: recorded and queued once per cause, in the caller's transaction,
delivered by a task once, retried with backoff while SMTP is down."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.db import transaction
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from rdk.emails import EmailError, email_deliver, email_preview, email_send_once, emails_for
from rdk.models import OutboundEmail
from tests.jobs import drain_tasks

pytestmark = pytest.mark.django_db


def welcome(key: str = "account:1:welcome", **extra) -> OutboundEmail:
    return email_send_once(
        key=key,
        kind="welcome",
        to="ann@rdk.test",
        context={"name": "Ann", "email": "ann@rdk.test"},
        **extra,
    )


def delivery_tasks() -> int:
    return DBTaskResult.objects.filter(task_path="rdk.emails.deliver_email").count()


def test_one_record_and_one_delivery_task_per_key():
    first = welcome()
    again = welcome()
    assert again.pk == first.pk
    assert OutboundEmail.objects.count() == 1
    assert delivery_tasks() == 1
    assert mail.outbox == []  # queued, not sent inline


def test_rendered_in_the_shops_look_with_absolute_links(settings):
    settings.SITE_URL = "https://shop.example"
    email = welcome()
    assert email.subject == "Welcome to Real Deal Kickz"
    text, html = email_preview(email)
    assert "Hello Ann," in text
    assert "https://shop.example/account/orders" in text
    assert 'href="https://shop.example/account/orders"' in html
    assert "#ff5a1f" in html  # the shop's accent colour


def test_plain_text_is_not_html_escaped():
    email = email_send_once(
        key="account:1:password_reset:x",
        kind="password_reset",
        to="ann@rdk.test",
        context={"email": "ann@rdk.test", "reset_path": "/account/reset/MQ/a-b/?x=1&y=2"},
    )
    text, _ = email_preview(email)
    assert "/account/reset/MQ/a-b/?x=1&y=2" in text
    assert "&amp;" not in text


def test_the_caller_renders_the_subject_and_the_task_the_bodies(settings, monkeypatch):
    """The request that causes an email renders its one-line subject (lists
    show it) and stores its context; the task renders the bodies when it
    sends them, stores them as sent, and keeps no context."""
    from django.template import loader

    settings.SITE_URL = "https://shop.example"
    rendered: list[str] = []
    render = loader.render_to_string

    def counted(name, *args, **kwargs):
        rendered.append(name)
        return render(name, *args, **kwargs)

    monkeypatch.setattr("rdk.emails.render_to_string", counted)
    email = welcome()
    assert rendered == ["emails/welcome/subject.txt"]
    stored = OutboundEmail.objects.get(pk=email.pk)
    assert (stored.subject, stored.body_text, stored.body_html) == (
        "Welcome to Real Deal Kickz",
        "",
        "",
    )
    assert stored.context == {"name": "Ann", "email": "ann@rdk.test"}

    assert drain_tasks() == 1
    assert rendered[1:] == [
        f"emails/welcome/{part}" for part in ("subject.txt", "body.txt", "body.html")
    ]
    (message,) = mail.outbox
    stored.refresh_from_db()
    assert "Hello Ann," in message.body
    assert (stored.body_text, stored.body_html) == (message.body, message.alternatives[0].content)
    assert stored.context == {}


def test_a_rolled_back_change_records_and_queues_nothing():
    def change_that_fails():
        with transaction.atomic():
            welcome()
            raise RuntimeError("the order change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert OutboundEmail.objects.count() == 0
    assert delivery_tasks() == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "no_such_kind"}, "No email of kind"),
        ({"to": "not an address"}, "not an email address"),
        ({"key": ""}, "key is required"),
    ],
)
def test_bad_requests_are_refused(kwargs, message):
    arguments = {
        "key": "k",
        "kind": "welcome",
        "to": "ann@rdk.test",
        "context": {"name": "Ann"},
        **kwargs,
    }
    with pytest.raises(EmailError, match=message):
        email_send_once(**arguments)
    assert OutboundEmail.objects.count() == 0


def test_delivered_once_by_the_task_whatever_runs_it_again():
    email = welcome()
    assert drain_tasks() == 1
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["ann@rdk.test"]
    assert sent.alternatives[0].mimetype == "text/html"
    assert sent.extra_headers["Message-ID"].startswith(f"<{email.public_id}@")
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmail.Status.SENT, 1)
    assert email.sent_at is not None
    # A duplicated task, or a second worker on the same email, sends nothing.
    assert email_deliver(email_id=email.pk) == "already sent"
    welcome()
    assert drain_tasks() == 0
    assert len(mail.outbox) == 1


def test_production_keeps_no_body_after_sending(settings):
    settings.EMAIL_KEEP_BODIES = False
    email = welcome()
    drain_tasks()
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert (email.subject, email.body_text, email.body_html) == (email.subject, "", "")


def test_emails_for_lists_what_was_sent_about_a_reference():
    welcome(key="order:evt_1:order_confirmed", reference="order:abc")
    welcome(key="other")
    drain_tasks()
    listed = emails_for(reference="order:abc")
    assert [(e.kind, e.status) for e in listed] == [("welcome", "sent")]


# SMTP down, then back: a real SMTP server on loopback ----------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """SMTP delivery to 127.0.0.1:<port>; the server is started by the test."""
    port = free_port()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    settings.TASKS_RETRY_BASE_SECONDS = 30
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    yield controller, inbox
    if getattr(controller, "_thread", None) is not None:
        controller.stop()


def make_due() -> None:
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=timezone.now())


def test_smtp_down_is_retried_with_backoff_never_lost_never_duplicated(smtp):
    controller, inbox = smtp
    email = welcome()

    assert drain_tasks() == 1  # SMTP is down: connection refused
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.QUEUED
    assert email.attempts == 1
    assert "ConnectionRefusedError" in email.last_error
    task = DBTaskResult.objects.get(task_path="rdk.emails.deliver_email")
    assert task.status == TaskResultStatus.READY  # retried later, not failed
    assert task.run_after > timezone.now() + dt.timedelta(seconds=25)

    make_due()
    assert drain_tasks() == 1  # still down: the backoff doubles
    task.refresh_from_db()
    assert task.run_after > timezone.now() + dt.timedelta(seconds=55)

    controller.start()  # SMTP is back
    make_due()
    assert drain_tasks() == 1
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert email.attempts == 3
    assert len(inbox.messages) == 1
    assert b"Subject: Welcome to Real Deal Kickz" in inbox.messages[0]

    # Retried again (an operator, a duplicated task): nothing more is sent.
    welcome()
    assert email_deliver(email_id=email.pk) == "already sent"
    make_due()
    drain_tasks()
    assert len(inbox.messages) == 1
    assert DBTaskResult.objects.get(pk=task.pk).status == TaskResultStatus.SUCCESSFUL
