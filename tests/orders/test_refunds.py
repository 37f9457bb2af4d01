"""Refunds through the local stand-in: from RDK (staff, admin, command) and from
Stripe's webhooks, never more than captured and never counted twice."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.exceptions import RefundTooLarge
from orders.models import (
    Order,
    OrderStatus,
)
from payments import services as payments
from payments.models import StripeEvent
from payments.services import event_replay
from rdk.rls import rls_service_scope
from tests.orders.payment_helpers import (
    deliver,
    dispute_event,
    handover,
    load,
    order_intent,
    paid_event_count,
    paid_order,
    pay_at_standin,
    placed_order,
    refund,
    standin_events,
    stock_of,
)

pytestmark = pytest.mark.django_db


# Refunds ------------------------------------------------------------------------------------


def test_partial_then_full_refunds_never_exceed_the_capture_nor_double_count(client, standin):
    _, _, order = paid_order(client, standin, price=10000)
    order = refund(order, 2500)
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 2500)
    assert deliver(client, standin_events(standin, "charge.refunded")[0]) == 200
    assert load(order).refunded_amount == 2500
    with pytest.raises(RefundTooLarge):
        refund(order, 7501)
    order = refund(order, None)
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, 10000)
    for event in reversed(standin_events(standin, "charge.refunded")):  # any order, twice
        assert deliver(client, event) == 200
    order = load(order)
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, 10000)
    charge = standin.store.charges[
        standin.store.payment_intents[order.payment_reference]["latest_charge"]
    ]
    assert charge["amount_refunded"] == 10000
    with pytest.raises(Exception, match=r"at most|only a paid order"):
        refund(order, 1)


def test_a_refund_made_in_stripes_dashboard_is_recorded_from_its_webhook(client, standin):
    _, _, order = paid_order(client, standin, price=10000)
    payments.refund_create(payment_intent=order.payment_reference, amount=4000, reference="dash-1")
    assert deliver(client, standin_events(standin, "charge.refunded")[0]) == 200
    order = load(order)
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 4000)


def test_a_refund_before_the_payment_marks_it_paid_from_stripe_first(client, standin):
    _, variant, order = placed_order(price=10000)
    session_id = handover(order)
    pay_at_standin(standin, session_id)
    intent = order_intent(standin_events(standin, "checkout.session.completed")[0])
    payments.refund_create(payment_intent=intent, amount=3000, reference="early")
    assert deliver(client, standin_events(standin, "charge.refunded")[0]) == 200
    order = load(order)
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 3000)
    assert deliver(client, standin_events(standin, "checkout.session.completed")[0]) == 200
    order = load(order)
    assert (order.status, order.captured_amount) == (OrderStatus.PARTIALLY_REFUNDED, 10000)
    assert stock_of(variant) == (2, 0)
    assert paid_event_count(order) == 1


def test_a_refund_for_an_unrecorded_payment_fails_then_a_replay_completes_it(client, standin):
    """The hand-over crashed after Stripe answered: RDK never learnt the session id.
    The refund cannot be placed yet, fails (500, retried), and completes once the
    payment is recorded."""
    _, _, order = placed_order(price=10000)
    session_id = handover(order)
    with rls_service_scope():
        Order.objects.filter(pk=order.pk).update(checkout_session_id="")
    pay_at_standin(standin, session_id)
    intent = order_intent(standin_events(standin, "checkout.session.completed")[0])
    payments.refund_create(payment_intent=intent, amount=10000, reference="early-full")
    refunded = standin_events(standin, "charge.refunded")[0]
    assert deliver(client, refunded) == 500
    stored = StripeEvent.objects.get(stripe_id=refunded["id"])
    assert stored.status == "failed"
    assert "before its payment" in stored.last_error
    assert deliver(client, standin_events(standin, "checkout.session.completed")[0]) == 200
    assert event_replay(event=stored, actor="ops:test").outcome == "processed"
    order = load(order)
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, 10000)


def test_order_refund_command(client, standin):
    _, _, order = paid_order(client, standin, price=10000)
    out = StringIO()
    call_command("order_refund", order.number, "--amount", "10.00", stdout=out)
    assert "refunded 10.00 USD of 100.00 USD" in out.getvalue()
    assert load(order).refunded_amount == 1000
    with pytest.raises(CommandError, match="at most"):
        call_command("order_refund", order.number, "--amount", "90.01")
    with pytest.raises(CommandError, match="No order"):
        call_command("order_refund", "RDK-NOPE00")
    with pytest.raises(CommandError, match="more than zero"):
        call_command("order_refund", order.number, "--amount", "0")
    with pytest.raises(CommandError, match="2 decimal places at most"):
        call_command("order_refund", order.number, "--amount", "5.001")
    assert load(order).refunded_amount == 1000
    call_command("order_refund", order.number, stdout=StringIO())
    assert load(order).status == OrderStatus.REFUNDED


# The admin ------------------------------------------------------------------------------------


def test_staff_refund_part_of_an_order_from_the_admin_and_see_disputes(admin_client, standin):
    client = admin_client  # password + TOTP verified (tests/staff.py)
    _, _, order = paid_order(client, standin, price=10000)
    staff = admin_client.staff.user
    change = client.get(f"/admin/orders/order/{order.pk}/change/")
    assert "Refund…" in change.text
    url = f"/admin/orders/order/{order.pk}/refund/"
    page = client.get(url)
    assert page.status_code == 200
    assert "left to refund" in page.text
    too_much = client.post(url, {"amount": "100.01", "confirm": "on"})
    assert too_much.status_code == 200
    assert "At most 100.00 USD is left to refund." in too_much.text
    assert client.post(url, {"amount": "abc", "confirm": "on"}).status_code == 200
    rounded = client.post(url, {"amount": "25.505", "confirm": "on"})
    assert "USD has 2 decimal places at most" in rounded.text
    assert load(order).refunded_amount == 0
    response = client.post(url, {"amount": "25.50", "confirm": "on"}, follow=True)
    assert "Refunded 25.50 USD" in response.text
    order = load(order)
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 2550)
    with rls_service_scope():
        assert order.events.get(to_status=OrderStatus.PARTIALLY_REFUNDED).actor == (
            f"staff:{staff.pk}"
        )
    assert deliver(client, standin_events(standin, "charge.refunded")[0]) == 200
    assert load(order).refunded_amount == 2550

    charge_id = standin.store.payment_intents[order.payment_reference]["latest_charge"]
    deliver(client, dispute_event(order.payment_reference, charge_id, 7450))
    listing = client.get("/admin/orders/order/?disputed_at__isempty=0")
    assert order.number in listing.text
    response = client.post(
        "/admin/orders/order/",
        {"action": "refund_in_full", "_selected_action": [order.pk]},
        follow=True,
    )
    assert "1 order(s) refunded." in response.text
    assert load(order).status == OrderStatus.REFUNDED
    assert client.get(url, follow=True).redirect_chain  # nothing left: back to the order
