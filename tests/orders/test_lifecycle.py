"""Reservations and the order state machine: each effect exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Variant
from orders.exceptions import InvalidTransition, PaymentMismatch, RefundTooLarge
from orders.models import Order, OrderStatus, ReservationStatus
from orders.services.lifecycle import (
    order_cancel,
    order_mark_paid,
    order_record_refund,
    reservation_release_for_order,
)
from orders.services.reservations import reservations_release_expired
from orders.services.shipping import order_ship
from orders.services.states import TRANSITIONS, order_transition
from rdk.rls import rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import UserFactory, order_for

UPS = "1Z999AA10123456784"

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed():
    variant = VariantFactory(stock_on_hand=3)
    order = order_for(UserFactory(), variant, quantity=2)
    return order, variant


def _stock(variant) -> tuple[int, int]:
    variant = Variant.objects.get(pk=variant.pk)
    return variant.stock_on_hand, variant.stock_reserved


def _fresh(order) -> Order:
    with rls_service_scope():
        return Order.objects.prefetch_related("events", "reservations").get(pk=order.pk)


def test_placing_reserves_stock_and_records_the_first_event(placed):
    order, variant = placed
    assert _stock(variant) == (3, 2)
    order = _fresh(order)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert [e.to_status for e in order.events.all()] == ["pending_payment"]
    assert order.reserved_until > timezone.now() + dt.timedelta(minutes=29)


def test_mark_paid_sells_reserved_stock_exactly_once(placed):
    order, variant = placed
    with rls_service_scope():
        for _ in range(3):
            order_mark_paid(order=order, payment_reference="pi_1", amount=24000, actor="system:t")
    assert _stock(variant) == (1, 0)
    order = _fresh(order)
    assert order.status == OrderStatus.PAID
    assert order.captured_amount == 24000
    assert [e.to_status for e in order.events.all()] == ["pending_payment", "paid"]
    assert {r.status for r in order.reservations.all()} == {ReservationStatus.CONSUMED}


def test_mark_paid_refuses_a_wrong_amount_or_a_second_payment(placed):
    order, _ = placed
    with rls_service_scope():
        with pytest.raises(PaymentMismatch):
            order_mark_paid(order=order, payment_reference="pi_1", amount=1, actor="system:t")
        order_mark_paid(order=order, payment_reference="pi_1", amount=24000, actor="system:t")
        with pytest.raises(PaymentMismatch):
            order_mark_paid(order=order, payment_reference="pi_2", amount=24000, actor="system:t")


def test_release_for_order_is_idempotent_and_cancels(placed):
    order, variant = placed
    with rls_service_scope():
        assert reservation_release_for_order(order, "session expired") == 1
        assert reservation_release_for_order(order, "session expired") == 0
    assert _stock(variant) == (3, 0)
    order = _fresh(order)
    assert order.status == OrderStatus.CANCELED
    assert list(order.events.all())[-1].note == "session expired"
    with rls_service_scope(), pytest.raises(InvalidTransition):
        order_mark_paid(order=order, payment_reference="pi_1", amount=24000, actor="system:t")
    assert _stock(variant) == (3, 0)


def test_expired_reservations_are_released_once_by_the_command(placed, capsys):
    order, variant = placed
    # Placing the order began its first payment attempt: the pairs are held until
    # the session's expiry (Stripe's 31-minute minimum) plus PAYMENT_GRACE.
    later = _fresh(order).reserved_until + dt.timedelta(seconds=1)
    assert reservations_release_expired(now=later - dt.timedelta(seconds=2)) == 0
    assert reservations_release_expired(now=later) == 1
    assert reservations_release_expired(now=later) == 0
    assert _stock(variant) == (3, 0)
    call_command("release_expired_reservations")
    assert "0 order(s) released" in capsys.readouterr().out
    assert _fresh(order).status == OrderStatus.CANCELED


def test_expired_reservation_is_released_lazily_when_stock_is_read(client, placed):
    order, variant = placed
    with rls_service_scope():
        order.reservations.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.post(
        "/cart/add", {"variant": variant.pk, "quantity": 2}, HTTP_ORIGIN="http://testserver"
    )
    assert response.status_code == 302
    # Two pairs fit only because the expired hold went back on sale first.
    assert client.session["cart"] == {str(variant.pk): [2, 12000]}
    assert _stock(variant) == (3, 0)
    assert _fresh(order).status == OrderStatus.CANCELED


def test_cancel_releases_once_and_refuses_paid_orders(placed):
    order, variant = placed
    with rls_service_scope():
        order_cancel(order=order, actor="user:1")
        order_cancel(order=order, actor="user:1")
    assert _stock(variant) == (3, 0)
    assert [e.to_status for e in _fresh(order).events.all()] == ["pending_payment", "canceled"]
    other = order_for(UserFactory(), VariantFactory())
    with rls_service_scope():
        order_mark_paid(order=other, payment_reference="pi", amount=12000, actor="system:t")
        with pytest.raises(InvalidTransition, match="refund"):
            order_cancel(order=other, actor="staff:1")


def test_refunds_partial_then_full_never_more_than_captured(placed):
    order, _ = placed
    with rls_service_scope():
        order_mark_paid(order=order, payment_reference="pi", amount=24000, actor="system:t")
        order_record_refund(order=order, amount=4000, refund_reference="re_1")
        order_record_refund(order=order, amount=4000, refund_reference="re_1")  # replayed
        assert _fresh(order).status == OrderStatus.PARTIALLY_REFUNDED
        assert _fresh(order).refunded_amount == 4000
        with pytest.raises(RefundTooLarge):
            order_record_refund(order=order, amount=20001, refund_reference="re_2")
        order_record_refund(order=order, amount=20000, refund_reference="re_3")
    order = _fresh(order)
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_amount == order.captured_amount == 24000


def test_ship_then_invalid_transitions_raise(placed):
    order, _ = placed
    with rls_service_scope():
        with pytest.raises(InvalidTransition):
            order_ship(order=order, carrier="ups", tracking_number=UPS, actor="staff:1")
        order_mark_paid(order=order, payment_reference="pi", amount=24000, actor="system:t")
        order_ship(order=order, carrier="ups", tracking_number=UPS, actor="staff:1")
        order = Order.objects.get(pk=order.pk)
        with pytest.raises(InvalidTransition):
            order_transition(order=order, to_status=OrderStatus.PENDING_PAYMENT, actor="x")
    event = list(_fresh(order).events.all())[-1]
    assert (event.from_status, event.to_status, event.actor) == ("paid", "shipped", "staff:1")


def test_every_state_is_in_the_map_and_terminal_states_lead_nowhere():
    assert set(TRANSITIONS) == set(OrderStatus.values)
    assert TRANSITIONS[OrderStatus.CANCELED] == frozenset()
    assert TRANSITIONS[OrderStatus.REFUNDED] == frozenset()


def test_showing_a_cart_releases_an_expired_hold_on_its_sizes(client, placed):
    """The cart page reads reservations only for sizes that hold some; this one does."""
    order, variant = placed
    shopper = UserFactory()
    client.force_login(shopper)
    client.post("/cart/add", {"variant": variant.pk}, HTTP_ORIGIN="http://testserver")
    with rls_service_scope():
        order.reservations.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    page = client.get("/cart").content.decode()
    assert 'max="2"' in page  # both pairs of the expired hold are back on sale
    assert _stock(variant) == (3, 0)
    assert _fresh(order).status == OrderStatus.CANCELED
