"""Order emails (orders/emails.py): each sent once per cause, through the real
webhook endpoint with signed Stripe-shaped events from the local stand-in, a
real task worker, and the order page that lists them."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from orders.emails import (
    CONFIRMED,
    KINDS,
    NOT_PAID,
    REFUNDED,
    SHIPPED,
    order_email_confirmed,
    order_email_not_paid,
    order_email_refunded,
    order_email_shipped,
)
from orders.models import CartItem, Order, OrderStatus
from orders.services.accounts import password_reset_email_send, user_signup
from orders.services.checkout import checkout_abandon
from orders.services.shipping import order_ship
from payments import services as payments
from payments.models import StripeEvent
from payments.services import event_replay
from rdk.emails import email_preview
from rdk.models import OutboundEmail
from rdk.rls import rls_service_scope
from tests.jobs import drain_tasks
from tests.orders.factories import UserFactory
from tests.orders.payment_helpers import (
    deliver,
    handover,
    load,
    paid_order,
    pay_at_standin,
    placed_order,
    refund,
    standin_events,
)
from tests.payments.conftest import control

pytestmark = pytest.mark.django_db


def emails_of(order: Order, kind: str | None = None) -> list[OutboundEmail]:
    emails = OutboundEmail.objects.filter(reference=f"order:{order.public_id}").order_by("id")
    return list(emails.filter(kind=kind) if kind else emails)


def test_a_duplicated_and_replayed_payment_sends_one_confirmation(client, standin, settings):
    settings.SITE_URL = "https://shop.rdk.test"
    _, _, order = placed_order(price=12345, quantity=2)
    pay_at_standin(standin, handover(order))
    completed = standin_events(standin, "checkout.session.completed")[0]
    assert deliver(client, completed) == 200
    assert deliver(client, completed) == 200  # Stripe delivers it again
    stored = StripeEvent.objects.get(stripe_id=completed["id"])
    assert event_replay(event=stored, actor="ops").outcome == "already_processed"

    assert drain_tasks() == 1
    (email,) = emails_of(order)
    assert (email.kind, email.status, email.to) == (CONFIRMED, "sent", order.email)
    (message,) = mail.outbox
    assert message.subject == f"Order {order.number} confirmed: thank you"
    html = message.alternatives[0].content
    for body in (message.body, html):
        assert order.number in body
        assert "$123.45" in body
        assert "$246.90" in body
        assert f"https://shop.rdk.test{order.get_absolute_url()}" in body


def test_the_success_page_and_the_webhook_together_send_one_confirmation(client, standin):
    user, _, order = placed_order()
    session_id = handover(order)
    pay_at_standin(standin, session_id)
    client.force_login(user)
    assert client.get(f"/checkout/success?session_id={session_id}").status_code == 200
    assert deliver(client, standin_events(standin, "checkout.session.completed")[0]) == 200
    assert [e.kind for e in emails_of(order)] == [CONFIRMED]


def test_each_refund_sends_one_email_with_the_amount_and_what_is_left(client, standin):
    _, _, order = paid_order(client, standin, price=12000)
    refund(order, 5000)
    for event in standin_events(standin, "charge.refunded") * 2:  # its webhook, twice
        assert deliver(client, event) == 200
    payments.refund_create(payment_intent=order.payment_reference, amount=7000, reference="dash")
    for event in standin_events(standin, "charge.refunded")[-1:] * 2:  # made in Stripe's Dashboard
        assert deliver(client, event) == 200
    assert load(order).status == OrderStatus.REFUNDED

    drain_tasks()
    partial, full = emails_of(order, REFUNDED)
    assert partial.subject == f"Order {order.number}: $50.00 refunded"
    assert "Still charged:   $70.00" in partial.body_text
    assert full.subject == f"Order {order.number}: refunded"
    assert "This refund:     $70.00" in full.body_text
    assert "refunded in full" in full.body_text
    assert len(mail.outbox) == 3  # confirmed + two refunds


@pytest.mark.parametrize("cause", ["async_payment_failed", "expired"])
def test_a_payment_that_fails_or_runs_out_sends_one_not_paid_email(client, standin, cause):
    _, _, order = placed_order()
    session_id = handover(order)
    if cause == "expired":
        control(standin, f"/_standin/sessions/{session_id}/expire", {"deliver": "hold"})
        events = standin_events(standin, "checkout.session.expired")
    else:
        pay_at_standin(standin, session_id, "async_fails")
        control(standin, f"/_standin/sessions/{session_id}/fail", {"deliver": "hold"})
        events = standin_events(standin, "checkout.session.completed")
        events += standin_events(standin, "payment_intent.payment_failed")
        events += standin_events(standin, "checkout.session.async_payment_failed")
    for event in events * 2:
        assert deliver(client, event) == 200
    assert load(order).status == OrderStatus.CANCELED
    (email,) = emails_of(order)
    assert email.kind == NOT_PAID
    expected = "failed" if cause == "async_payment_failed" else "was not completed"
    assert expected in email.subject
    assert "/cart" in email_preview(email)[0]
    with rls_service_scope():
        assert list(
            CartItem.objects.filter(cart__user=order.user).values_list("quantity", flat=True)
        ) == [1]


def test_a_shopper_who_cancels_gets_no_email(standin):
    user, _, order = placed_order()
    handover(order)
    checkout_abandon(user=user, public_id=str(order.public_id))
    assert load(order).status == OrderStatus.CANCELED
    assert emails_of(order) == []


def test_shipping_sends_one_email(client, standin):
    _, _, order = paid_order(client, standin)
    with rls_service_scope():
        order_ship(
            order=order, carrier="ups", tracking_number="1Z999AA10123456784", actor="staff:1"
        )
    (email,) = emails_of(order, SHIPPED)
    assert email.subject == f"Order {order.number} has shipped"
    for body in email_preview(email):
        assert "UPS" in body
        assert "1Z999AA10123456784" in body
        assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in body


def test_the_order_page_lists_the_emails_sent_only_to_its_owner(client, standin):
    user, _, order = paid_order(client, standin)
    client.force_login(user)
    page = client.get(order.get_absolute_url()).text
    assert f"Order {order.number} confirmed: thank you" in page
    assert "Sending (queued" in page
    drain_tasks()
    page = client.get(order.get_absolute_url()).text
    assert re.search(r"Sent \w+ \d+, \d\d:\d\d UTC to", page)

    client.force_login(UserFactory())
    assert client.get(order.get_absolute_url()).status_code == 404


def test_sending_again_for_the_same_event_records_nothing_new(client, standin):
    _, _, order = paid_order(client, standin)
    with rls_service_scope():
        event = order.events.get(to_status=OrderStatus.PAID)
        again = order_email_confirmed(order=order, event=event)  # a retried caller
    (email,) = emails_of(order)
    assert again.pk == email.pk
    assert drain_tasks() == 1
    assert len(mail.outbox) == 1


def test_every_email_shows_amounts_in_currency_units_never_minor_units(client, standin):
    """Renders every email RDK sends; fails when a raw minor-unit amount shows."""
    user = user_signup(email="ann@rdk.test", password="a long passphrase 9", full_name="Ann")
    password_reset_email_send(user=user, reset_path="/account/reset/MQ/abc-123/")
    _, _, order = paid_order(client, standin, price=12345, quantity=2)  # 24690 in all
    refund(order, 4321)
    with rls_service_scope():
        order = Order.objects.get(pk=order.pk)
        Order.objects.filter(pk=order.pk).update(shipping_address="Ann Lee\n1 Main St\nSpringfield")
        order.refresh_from_db()
        event = order.events.first()
        with_address = [
            order_email_confirmed(order=order, event=event),
            order_email_shipped(order=order, event=event),
            order_email_refunded(order=order, event=event, amount=4321),
            order_email_not_paid(order=order, event=event, reason="payment failed"),
        ]

    emails = list(OutboundEmail.objects.all())
    assert {e.kind for e in emails} == {*KINDS, "welcome", "password_reset"}
    raw = re.compile(r"(?<![\d.,])(12345|24690|4321|20369)(?![\d.,])")
    for email in emails:
        for body in (email.subject, *email_preview(email)):
            assert not raw.search(body), f"{email.kind} shows a minor-unit amount: {body}"
    for email in with_address:
        for body in email_preview(email):
            assert "$123.45" in body, email.kind
            assert "$246.90" in body, email.kind
            # An unpaid, canceled order ships nowhere: no address in its email.
            assert ("1 Main St" in body) is (email.kind != NOT_PAID), email.kind
    refunded = email_preview(with_address[2])[0]
    assert "$43.21" in refunded
    assert "$203.69" in refunded
