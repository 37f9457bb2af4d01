"""Checkout and Stripe through the local stand-in: the hand-over (sessions,
attempts, expiry), the success page (`checkout_confirm`) and the cancel link
(`checkout_abandon`)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from orders.models import (
    Order,
    OrderStatus,
    Reservation,
)
from orders.services.checkout import PAYMENT_GRACE, STRIPE_MIN_EXPIRY, payment_handover
from payments import services as payments
from rdk.rls import rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import ADDRESS_FORM, UserFactory
from tests.orders.payment_helpers import (
    ORIGIN,
    deliver,
    handover,
    load,
    paid_event_count,
    pay_at_standin,
    placed_order,
    standin_events,
    stock_of,
)
from tests.payments.conftest import control

pytestmark = pytest.mark.django_db


# The hand-over ------------------------------------------------------------------------


def test_the_session_expires_with_the_reservation_within_stripes_minimum(standin):
    _, _, order = placed_order()
    before = timezone.now()
    url = payment_handover(order)
    order = load(order)
    session = payments.checkout_session_retrieve(order.checkout_session_id)
    assert url == session.url
    assert session.client_reference_id == str(order.public_id)
    assert session.amount_total == order.total_amount
    expires_at = session.expires_at
    assert expires_at >= before + STRIPE_MIN_EXPIRY - dt.timedelta(seconds=1)
    assert order.checkout_attempt == 1
    # The pairs stay reserved a grace period past the session's end.
    assert order.reserved_until == order.checkout_expires_at + PAYMENT_GRACE
    with rls_service_scope():
        assert {r.expires_at for r in Reservation.objects.filter(order=order)} == {
            order.reserved_until
        }
    # Asking again (a double click, a retry) gives the same open session.
    assert payment_handover(order) == url


def test_checkout_begins_the_first_attempt_as_it_places_the_order(
    client, standin, django_assert_num_queries
):
    """One transaction places the order and begins its first payment attempt
    (the expiry the session will carry, the reservation held past it), so the
    hand-over of the order just placed neither reads it again nor locks it
    again: cart → Stripe hand-over costs 26 statements here, not 40 (issue 12)."""
    user = UserFactory()
    client.force_login(user)
    variant = VariantFactory(stock_on_hand=2)
    client.post("/cart/add", {"variant": variant.pk}, **ORIGIN)
    fingerprint = client.get("/cart").context["summary"].fingerprint
    before = timezone.now()
    with django_assert_num_queries(26):
        response = client.post("/checkout", {"fingerprint": fingerprint, **ADDRESS_FORM})
    with rls_service_scope():
        order = Order.objects.get()
        reservations = list(Reservation.objects.filter(order=order))
    assert response["Location"].startswith(standin.url + "/c/pay/")
    assert order.checkout_attempt == 1
    assert order.checkout_expires_at >= before + STRIPE_MIN_EXPIRY
    assert order.reserved_until == order.checkout_expires_at + PAYMENT_GRACE
    assert [r.expires_at for r in reservations] == [order.reserved_until]
    session = payments.checkout_session_retrieve(order.checkout_session_id)
    assert response["Location"] == session.url
    assert session.expires_at == order.checkout_expires_at.replace(microsecond=0)
    assert stock_of(variant) == (2, 1)
    # "Pay now" (or a retry after Stripe failed) goes the long way: the same session.
    assert payment_handover(order) == session.url
    assert load(order).checkout_attempt == 1


def test_stripe_down_keeps_the_order_and_reservation_and_pay_now_retries(
    client, settings, standin_factory
):
    user = UserFactory()
    client.force_login(user)
    variant = VariantFactory(stock_on_hand=2)
    client.post("/cart/add", {"variant": variant.pk}, **ORIGIN)
    fingerprint = client.get("/cart").context["summary"].fingerprint
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    response = client.post("/checkout", {"fingerprint": fingerprint, **ADDRESS_FORM}, follow=True)
    assert response.redirect_chain[-1][0] == "/cart"
    assert "We could not open the payment page" in response.text
    assert "Pay now" in response.text
    with rls_service_scope():
        order = Order.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert stock_of(variant) == (2, 1)

    standin = standin_factory()  # Stripe is back
    response = client.post(f"/account/orders/{order.public_id}/pay")
    assert response.status_code == 302
    assert response["Location"].startswith(standin.url + "/c/pay/")
    assert load(order).checkout_attempt == 1


def test_cancel_on_stripes_page_releases_the_pairs_and_refills_the_cart(client, standin):
    user, variant, order = placed_order(stock=2, quantity=2)
    client.force_login(user)
    session_id = handover(order)
    response = client.get(f"/checkout/cancel/{order.public_id}", follow=True)
    assert response.redirect_chain[-1][0] == "/cart"
    assert "Payment canceled" in response.text
    assert load(order).status == OrderStatus.CANCELED
    assert stock_of(variant) == (2, 0)
    assert payments.checkout_session_retrieve(session_id).status == "expired"
    assert [line.quantity for line in response.context["summary"].lines] == [2]
    # Its expired webhook then changes nothing.
    assert deliver(client, standin_events(standin, "checkout.session.expired")[0]) == 200
    assert load(order).status == OrderStatus.CANCELED


def test_a_new_attempt_after_the_session_expired_and_the_old_expiry_is_ignored(client, standin):
    _, variant, order = placed_order()
    first = handover(order)
    control(standin, f"/_standin/sessions/{first}/expire", {"deliver": "hold"})
    payment_handover(order)  # "Pay now" before the expiry webhook arrived
    order = load(order)
    assert order.checkout_attempt == 2
    assert order.checkout_session_id != first
    assert deliver(client, standin_events(standin, "checkout.session.expired")[0]) == 200
    assert load(order).status == OrderStatus.PENDING_PAYMENT
    assert stock_of(variant) == (3, 1)


# The success page ---------------------------------------------------------------------


def test_the_success_page_marks_paid_before_the_webhook_and_the_webhook_adds_nothing(
    client, standin, django_assert_max_num_queries
):
    user, variant, order = placed_order()
    client.force_login(user)
    session_id = handover(order)
    pay_at_standin(standin, session_id)
    response = client.get(f"/checkout/success?session_id={session_id}")
    assert response.status_code == 200
    assert "your order is paid" in response.text
    assert 'http-equiv="refresh"' not in response.text
    assert load(order).status == OrderStatus.PAID
    assert stock_of(variant) == (2, 0)
    assert deliver(client, standin_events(standin, "checkout.session.completed")[0]) == 200
    assert stock_of(variant) == (2, 0)
    assert paid_event_count(order) == 1
    with django_assert_max_num_queries(12):
        assert client.get(f"/checkout/success?session_id={session_id}").status_code == 200


def test_the_success_page_refuses_bad_or_foreign_sessions(client, standin):
    _, _, order = placed_order()
    session_id = handover(order)
    client.force_login(UserFactory())
    assert client.get(f"/checkout/success?session_id={session_id}").status_code == 404
    assert client.get("/checkout/success?session_id=<script>").status_code == 400
    assert client.get("/checkout/success").status_code == 400
    assert client.get("/checkout/success?session_id=cs_test_nosuch").status_code == 404
    assert load(order).status == OrderStatus.PENDING_PAYMENT


def test_the_success_page_of_an_unpaid_session_does_not_pretend(client, standin):
    user, _, order = placed_order()
    client.force_login(user)
    session_id = handover(order)
    response = client.get(f"/checkout/success?session_id={session_id}")
    assert "Not paid yet" in response.text
    assert 'http-equiv="refresh"' not in response.text
    client.post(f"/account/orders/{order.public_id}/cancel")
    response = client.get(f"/checkout/success?session_id={session_id}")
    assert "This order was canceled" in response.text
    assert "No payment was taken" in response.text
