"""Emails to shoppers: each sent exactly once per cause, from a task.

Call `email_send_once(...)` inside the transaction that makes the change the
email tells about (an order paid, an account created). It records the email
under its `key`, with its subject and the context its bodies are rendered
from, and enqueues its delivery, all in that transaction: if the change rolls
back, no email is recorded or queued; if it commits, the email will be sent.
A second call with the same key (a replayed Stripe event, a retried task)
finds the record and does nothing.

The bodies are rendered when the email is sent, by the task, not in the
request that caused it (a paid order's webhook rendered three templates and
read the order's lines for its confirmation). The stored context holds the
values of that moment (a refund's amounts); a kind whose bodies need more (an
order's lines, which never change) registers a loader that adds it then
(`email_context_loader_register`). Until it is sent, `email_preview` renders
a queued email on demand (the Outbox).

Delivery (`email_deliver`, run by the `deliver_email` task below) locks the record,
sends only if it is not sent yet, and marks it sent in the same transaction:
a duplicated task or a second worker waits for the lock and then finds it
sent. An SMTP failure leaves it queued and the task is retried with backoff
(rdk/jobs.py); it is never dropped.

Templates: `templates/emails/<kind>/subject.txt`, `body.txt` and `body.html`,
extending `emails/base.txt` and `emails/base.html`. Every template receives
`site_url` (links are absolute: `{{ site_url }}{% url … %}`) and `site_name`.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Mapping
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.tasks import task
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone

from rdk.exceptions import RdkError
from rdk.inserts import insert_once
from rdk.jobs import retry_on
from rdk.models import OutboundEmail

logger = logging.getLogger(__name__)


class EmailError(RdkError):
    code = "email_error"


ContextLoader = Callable[[dict[str, Any]], dict[str, Any]]

_context_loaders: dict[str, ContextLoader] = {}


def email_context_loader_register(kind: str, loader: ContextLoader) -> None:
    """`loader(stored context)` returns the context the bodies of emails of
    `kind` are rendered from, when they are sent or previewed (an app adds
    what it did not store, such as an order's lines). One loader per kind."""
    existing = _context_loaders.get(kind)
    if existing is not None and existing is not loader:
        raise ImproperlyConfigured(f"An email context loader for {kind!r} is already registered.")
    _context_loaders[kind] = loader


def _template_context(context: Mapping[str, Any]) -> dict[str, Any]:
    return {"site_url": settings.SITE_URL, "site_name": "Real Deal Kickz", **context}


def _render(kind: str, part: str, context: Mapping[str, Any]) -> str:
    try:
        return render_to_string(f"emails/{kind}/{part}", context)
    except TemplateDoesNotExist as exc:
        raise EmailError(f"No email of kind {kind!r} (missing {exc}).") from None


def email_subject_render(*, kind: str, context: Mapping[str, Any]) -> str:
    """The subject line of an email of this kind (from the stored context)."""
    return " ".join(_render(kind, "subject.txt", _template_context(context)).split())


def email_render(*, kind: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of an email of this kind, from its stored
    context and what the kind's loader adds to it."""
    loader = _context_loaders.get(kind)
    full = _template_context(loader(dict(context)) if loader else context)
    subject = " ".join(_render(kind, "subject.txt", full).split())
    text = _render(kind, "body.txt", full)
    html = _render(kind, "body.html", full)
    return subject, text.strip() + "\n", html


def email_preview(email: OutboundEmail) -> tuple[str, str]:
    """(plain text, HTML) of a recorded email: as stored once it is sent,
    rendered from its context while it is queued."""
    if email.body_text or email.body_html or not email.context:
        return email.body_text, email.body_html
    _, text, html = email_render(kind=email.kind, context=email.context)
    return text, html


def email_send_once(
    *, key: str, kind: str, to: str, context: Mapping[str, Any], reference: str = ""
) -> OutboundEmail:
    """Record and queue the email for `key`, unless it already is; returns
    its record either way.

    `key` names the cause, once: `order:<event id>:<kind>` for an order email,
    `account:<user id>:welcome` for an account one. `reference` is what the
    email is about (`order:<order public id>`), for the order page to list.
    `context` (JSON values) is stored with the email until it is sent: its
    subject is rendered from it now (lists show it), its bodies when it is
    sent.

    Bad input and missing templates raise EmailError before anything is
    written. The record is inserted once by its key (`rdk.inserts`: one
    statement, no savepoint) and its delivery enqueued, both in the caller's
    transaction (or one of their own when there is none)."""
    if not key or len(key) > 200:
        raise EmailError("An email key is required (at most 200 characters).")
    if not to or "@" not in parseaddr(to)[1]:
        raise EmailError(f"{to!r} is not an email address.")
    subject = email_subject_render(kind=kind, context=context)
    email = OutboundEmail(
        key=key,
        kind=kind,
        to=to,
        reference=reference,
        subject=subject[:300],
        context=dict(context),
    )
    # Nothing below raises but the database, which ends the caller's
    # transaction anyway: a savepoint would only cost two round trips.
    with transaction.atomic(savepoint=False):
        if not insert_once(email):
            return OutboundEmail.objects.get(key=key)
        # Enqueued in this transaction (the database task backend): committed or
        # rolled back with the email's record and the change that caused it.
        deliver_email.enqueue(email_id=email.pk)
    logger.info("email.queued", extra={"kind": kind, "email": str(email.public_id)})
    return email


def message_id(email: OutboundEmail) -> str:
    """The same Message-ID on every attempt, so a mail system can drop a copy."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "rdk.invalid"
    return f"<{email.public_id}@{domain}>"


def email_deliver(*, email_id: int) -> str:
    """Send the recorded email if it is not sent yet. SMTP errors propagate
    (the task retries them); the attempt and its error are recorded first."""
    try:
        with transaction.atomic():
            email = OutboundEmail.objects.select_for_update().filter(pk=email_id).first()
            if email is None:
                raise EmailError(f"No email {email_id}.")
            if email.status == OutboundEmail.Status.SENT:
                return "already sent"
            email.body_text, email.body_html = email_preview(email)
            message = EmailMultiAlternatives(
                subject=email.subject,
                body=email.body_text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[email.to],
                headers={"Message-ID": message_id(email)},
            )
            message.attach_alternative(email.body_html, "text/html")
            message.send()
            email.status = OutboundEmail.Status.SENT
            email.sent_at = timezone.now()
            email.attempts += 1
            email.last_error = ""
            # The bodies as sent replace the context they came from. They can
            # hold one-time links (password reset): kept only where the Outbox
            # page shows them, never in production.
            email.context = {}
            if not settings.EMAIL_KEEP_BODIES:
                email.body_text = email.body_html = ""
            email.save(
                update_fields=[
                    "status",
                    "sent_at",
                    "attempts",
                    "last_error",
                    "body_text",
                    "body_html",
                    "context",
                ]
            )
    except EmailError:
        raise
    except Exception as exc:
        OutboundEmail.objects.filter(pk=email_id).update(
            attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:500]
        )
        logger.warning(
            "email.send_failed", extra={"email_id": email_id, "error": type(exc).__name__}
        )
        raise
    logger.info("email.sent", extra={"kind": email.kind, "email": str(email.public_id)})
    return "sent"


# SMTP refused or unreachable (OSError covers refused connections and
# timeouts): retried with backoff for about four hours in all, then left failed
# on the Jobs page, the email still queued. A send is bounded by the SMTP
# timeout (EMAIL_URL's, 30 s unless set): a run still going after
# EMAIL_TASK_ORPHANED_SECONDS is a dead worker's, queued again on its own.
@task
@retry_on(smtplib.SMTPException, OSError, attempts=10, orphaned_after="EMAIL_TASK_ORPHANED_SECONDS")
def deliver_email(email_id: int) -> str:
    return email_deliver(email_id=email_id)


def emails_for(*, reference: str) -> list[OutboundEmail]:
    """The emails about `reference` (`order:<public id>`), oldest first, for
    the page that shows it. The caller has already decided the reader may see
    that order (an `orders` selector)."""
    return list(
        OutboundEmail.objects.filter(reference=reference)
        .only("public_id", "kind", "subject", "to", "status", "created_at", "sent_at")
        .order_by("created_at", "id")
    )
