"""Every amount a person reads is in currency units: the shopper's order pages in
every order state and with every event kind, and the staff admin's order list,
order pages and refund page. Orders are driven through the real checkout,
Stripe handlers and refund services (the local stand-in plays Stripe).

Amounts are chosen so that their minor-unit digits cannot occur by chance:
$123.45 is 12345, a refund of $43.21 is 4321, what is left is 8024."""

from __future__ import annotations

import re

import pytest

from orders.models import OrderEventKind, OrderStatus
from orders.services.shipping import order_ship, order_tracking_correct
from rdk.rls import rls_service_scope
from tests.orders.payment_helpers import (
    control,
    deliver,
    dispute_event,
    handover,
    load,
    paid_order,
    pay_at_standin,
    placed_order,
    refund,
    standin_events,
)

pytestmark = pytest.mark.django_db

PRICE, PART, LEFT = 12345, 4321, 8024
RAW_MINOR_UNITS = re.compile(r"\b(12,?345|4,?321|8,?024)\b")


def assert_units_only(text: str, where: str) -> None:
    leak = RAW_MINOR_UNITS.search(text)
    if leak:
        context = text[max(0, leak.start() - 80) : leak.end() + 40]
        pytest.fail(f"{where} shows a raw minor-unit amount: …{context}…")


def _orders_in_every_state_and_event_kind(client, standin) -> list:
    """Orders whose statuses and events cover every OrderStatus and OrderEventKind."""
    orders = []

    _, _, pending = placed_order(price=PRICE)  # placed: a status event
    session_id = handover(pending)
    control(standin, f"/_standin/sessions/{session_id}/fail", {"deliver": "hold"})
    assert deliver(client, standin_events(standin, "payment_intent.payment_failed")[-1]) == 200
    orders.append(pending)

    _, _, processing = placed_order(price=PRICE)
    pay_at_standin(standin, handover(processing), "async_succeeds")
    assert deliver(client, standin_events(standin, "checkout.session.completed")[-1]) == 200
    orders.append(processing)

    user, _, late = placed_order(price=PRICE)
    session_id = handover(late)
    client.force_login(user)
    client.post(f"/account/orders/{late.public_id}/cancel")
    pay_at_standin(standin, session_id)
    assert deliver(client, standin_events(standin, "checkout.session.completed")[-1]) == 200
    orders.append(late)

    _, _, paid = paid_order(client, standin, price=PRICE)
    orders.append(paid)

    _, _, shipped = paid_order(client, standin, price=PRICE)
    with rls_service_scope():
        order_ship(order=shipped, carrier="ups", tracking_number="1Z999AA10123456784", actor="s:1")
        order_tracking_correct(
            order=shipped, carrier="dhl", tracking_number="1234567890", actor="staff:1"
        )
    orders.append(shipped)

    _, _, partly = paid_order(client, standin, price=PRICE)
    refund(partly, PART)
    charge = standin.store.payment_intents[partly.payment_reference]["latest_charge"]
    assert deliver(client, dispute_event(partly.payment_reference, charge, PRICE)) == 200
    orders.append(partly)

    _, _, refunded = paid_order(client, standin, price=PRICE)
    refund(refunded, PART)
    refund(refunded, None)
    orders.append(refunded)

    orders = [load(order) for order in orders]
    with rls_service_scope():
        kinds = {kind for order in orders for kind in order.events.values_list("kind", flat=True)}
    assert {order.status for order in orders} == set(OrderStatus.values)
    assert kinds == set(OrderEventKind.values)
    return orders


def test_no_page_shows_a_raw_minor_unit_amount(client, admin_client, standin):
    orders = _orders_in_every_state_and_event_kind(client, standin)

    for order in orders:
        client.force_login(order.user)
        page = client.get(order.get_absolute_url())
        assert page.status_code == 200
        assert_units_only(page.text, f"the {order.status} order page")
        assert "$123.45" in page.text
        assert_units_only(client.get("/account/orders").text, "the shopper's order list")

        change = admin_client.get(f"/admin/orders/order/{order.pk}/change/")
        assert change.status_code == 200
        assert_units_only(change.text, f"the admin page of a {order.status} order")
        assert "123.45 USD" in change.text

    refunded_in_part = next(o for o in orders if o.status == OrderStatus.PARTIALLY_REFUNDED)
    client.force_login(refunded_in_part.user)
    assert "Refunded $43.21" in client.get(refunded_in_part.get_absolute_url()).text
    refund_page = admin_client.get(f"/admin/orders/order/{refunded_in_part.pk}/refund/")
    assert_units_only(refund_page.text, "the admin refund page")
    assert 'value="80.24"' in refund_page.text

    listing = admin_client.get("/admin/orders/order/")
    assert_units_only(listing.text, "the admin order list")
    assert "123.45 USD" in listing.text
    assert "43.21 USD" in listing.text
