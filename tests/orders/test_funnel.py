"""The checkout services count their funnel step once each, after commit
(buffered in the process until the next flush)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from orders.exceptions import CartError
from orders.services.checkout import payment_handover
from orders.services.lifecycle import order_cancel, order_mark_paid
from rdk.funnel import funnel_flush, funnel_totals
from rdk.models import FunnelCount
from rdk.rls import rls_scope, rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import UserFactory, order_for

pytestmark = pytest.mark.django_db

ORIGIN = {"HTTP_ORIGIN": "http://testserver"}


def _totals() -> dict[str, int]:
    funnel_flush()
    return funnel_totals(since=timezone.now() - dt.timedelta(hours=1))


def test_each_checkout_step_counts_once(standin, django_capture_on_commit_callbacks):
    variant = VariantFactory(stock_on_hand=5, price_override_amount=10000)
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        order = order_for(user, variant, quantity=2)
        with rls_scope(user=user):
            payment_handover(order)
        with rls_service_scope():
            for _ in range(3):  # replays and retries pay once
                order_mark_paid(
                    order=order, payment_reference="pi_1", amount=20000, actor="system:t"
                )
    totals = _totals()
    assert totals["cart_add"] == 1
    assert totals["checkout_start"] == 1
    assert totals["stripe_handover"] == 1
    assert totals["paid"] == 1
    assert totals["abandoned"] == 0


def test_an_abandoned_order_counts_once(django_capture_on_commit_callbacks):
    variant = VariantFactory(stock_on_hand=5)
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        order = order_for(user, variant)
        with rls_service_scope():
            order_cancel(order=order, actor="user", reason="canceled by shopper")
            order_cancel(order=order, actor="user", reason="canceled by shopper")
    assert _totals()["abandoned"] == 1


def test_a_rolled_back_step_is_not_counted(django_capture_on_commit_callbacks):
    variant = VariantFactory(stock_on_hand=0)
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CartError):
        order_for(user, variant)  # sold out: the cart refuses, nothing commits
    assert funnel_flush() == 0
    assert not FunnelCount.objects.exists()


def test_the_cart_page_counts_an_add_through_the_view(client, django_capture_on_commit_callbacks):
    variant = VariantFactory(stock_on_hand=3)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cart/add", {"variant": variant.pk, "quantity": 1}, **ORIGIN)
    assert _totals()["cart_add"] == 1
