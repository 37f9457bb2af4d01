"""Order emails through real worker processes on PostgreSQL: a duplicated and
replayed payment, refunds reported twice, two workers at once: one message per
cause reaches a real SMTP server."""

from __future__ import annotations

import pytest

from orders.emails import CONFIRMED, REFUNDED
from payments.models import StripeEvent
from payments.services import event_replay
from rdk.models import OutboundEmail
from tests.orders.payment_helpers import deliver, paid_order, refund, standin_events
from tests.rdk.test_emails_workers import inbox, run_batch  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_workers_send_each_order_email_once_whatever_stripe_repeats(client, standin, inbox):  # noqa: F811
    inbox.hold_next = False
    _, _, order = paid_order(client, standin, price=12000)
    completed = standin_events(standin, "checkout.session.completed")[0]
    assert deliver(client, completed) == 200  # duplicated
    event_replay(event=StripeEvent.objects.get(stripe_id=completed["id"]), actor="ops")
    refund(order, 5000)
    for event in standin_events(standin, "charge.refunded") * 2:
        assert deliver(client, event) == 200

    first, second = run_batch(inbox), run_batch(inbox)  # a second worker run finds nothing left

    assert first.returncode == 0, first.stdout
    assert second.returncode == 0, second.stdout
    emails = OutboundEmail.objects.filter(reference=f"order:{order.public_id}").order_by("id")
    assert [(e.kind, e.status) for e in emails] == [(CONFIRMED, "sent"), (REFUNDED, "sent")]
    assert len(inbox.messages) == 2
    subjects = b"".join(inbox.messages)
    assert f"Order {order.number}: $50.00 refunded".encode() in subjects
