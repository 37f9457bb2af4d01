"""The cart trusts nothing a shopper posts (issue 11 §6): one currency per
cart through merge and refresh, no sale before the release date, and the
per-size cap counting the shopper's recent orders, not only the cart."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from orders.exceptions import CartChanged, CartError
from orders.models import Order
from orders.services.cart import DbCartStore, SessionCartStore, cart_add, cart_merge, cart_refresh
from orders.services.checkout import order_place
from orders.services.lifecycle import order_cancel
from rdk.rls import rls_scope, rls_service_scope
from tests.catalog.factories import ProductFactory
from tests.orders.factories import SHIP_TO, UserFactory, order_for

pytestmark = pytest.mark.django_db


def _size(**product):
    return ProductFactory(with_sizes=1, **product).variants.first()


def _session_store(client) -> SessionCartStore:
    return SessionCartStore(client.session)


# Currency -------------------------------------------------------------------------------


def test_merge_never_combines_currencies(client):
    shopper = UserFactory()
    usd, gbp = _size(currency="USD"), _size(currency="GBP")
    with rls_scope(user=shopper):
        cart_add(store=DbCartStore(shopper), variant_id=gbp.pk)
    session = client.session
    anonymous = SessionCartStore(session)
    cart_add(store=anonymous, variant_id=usd.pk)
    with rls_scope(user=shopper):
        notices = cart_merge(source=anonymous, target=DbCartStore(shopper))
        summary = cart_refresh(store=DbCartStore(shopper))
    assert [line.variant.pk for line in summary.lines] == [gbp.pk]
    assert summary.currency == "GBP"
    assert any("priced in USD, your cart in GBP" in notice for notice in notices)


def test_refresh_and_checkout_refuse_a_line_whose_currency_changed():
    shopper = UserFactory()
    first, second = _size(currency="USD"), _size(currency="USD")
    store = DbCartStore(shopper)
    with rls_scope(user=shopper):
        cart_add(store=store, variant_id=first.pk)
        cart_add(store=store, variant_id=second.pk)
    second.product.currency = "GBP"
    second.product.save(update_fields=["currency"])
    with rls_scope(user=shopper), pytest.raises(CartChanged, match="now priced in GBP"):
        order_place(user=shopper, store=store, ship_to=SHIP_TO)
    with rls_scope(user=shopper):
        summary = cart_refresh(store=store)
        assert {line.variant.product.currency for line in summary.lines} == {"USD"}
        assert order_place(user=shopper, store=store, ship_to=SHIP_TO).currency == "USD"


# Release date ------------------------------------------------------------------------------


def test_an_unreleased_pair_cannot_be_bought_by_posting_its_id(client):
    future = _size(release_date=timezone.now().date() + dt.timedelta(days=3))
    response = client.post(
        "/cart/add", {"variant": future.pk, "quantity": 1}, HTTP_ORIGIN="http://testserver"
    )
    assert response.status_code == 302
    assert any("not released yet" in str(m) for m in get_messages(response.wsgi_request))
    assert _session_store(client).items() == {}


def test_a_pair_whose_release_moved_later_leaves_the_cart_before_checkout():
    shopper = UserFactory()
    variant = _size()
    store = DbCartStore(shopper)
    with rls_scope(user=shopper):
        cart_add(store=store, variant_id=variant.pk)
    variant.product.release_date = timezone.now().date() + dt.timedelta(days=1)
    variant.product.save(update_fields=["release_date"])
    with rls_scope(user=shopper), pytest.raises(CartChanged):
        order_place(user=shopper, store=store, ship_to=SHIP_TO)


# Per-shopper limit across orders ------------------------------------------------------------


def test_the_cap_counts_pairs_held_in_recent_orders():
    shopper = UserFactory()
    variant = _size(max_per_size=1)
    order = order_for(shopper, variant)
    store = DbCartStore(shopper)
    with rls_scope(user=shopper), pytest.raises(CartError, match="your orders of the last 30"):
        cart_add(store=store, variant_id=variant.pk)
    with rls_scope(user=shopper):
        order_cancel(order=order, actor="test", reason="test")
        cart_add(store=store, variant_id=variant.pk)  # a canceled order holds nothing


def test_checkout_refuses_a_pair_bought_meanwhile_in_another_order():
    shopper = UserFactory()
    variant = _size(max_per_size=1)
    store = DbCartStore(shopper)
    with rls_scope(user=shopper):
        cart_add(store=store, variant_id=variant.pk)
    order_for(UserFactory(), _size())  # someone else's order does not count
    first = order_place_for(shopper, variant)
    assert first.status == "pending_payment"
    with rls_scope(user=shopper):
        visitor = SessionCartStore({})  # type: ignore[arg-type]  # a dict stands in for a session
        cart_add(store=visitor, variant_id=variant.pk)  # a visitor is not counted
        summary = cart_refresh(store=store)
    assert summary.lines == []
    assert any("hold 1" in notice for notice in summary.notices)


def order_place_for(shopper, variant) -> Order:
    """Another cart's checkout by the same shopper (another device)."""
    with rls_scope(user=shopper):
        other = DbCartStore(shopper)
        saved = other.items()
        other.clear()
        cart_add(store=other, variant_id=variant.pk)
        order = order_place(user=shopper, store=other, ship_to=SHIP_TO)
        for variant_id, (quantity, seen) in saved.items():
            other.put(variant_id, quantity, seen)
    return order


@pytest.mark.parametrize("days", [0, 30])
def test_the_window_is_configurable(settings, days):
    settings.ORDERS_PURCHASE_LIMIT_DAYS = days
    shopper = UserFactory()
    variant = _size(max_per_size=1)
    order = order_for(shopper, variant)
    with rls_service_scope():
        Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - dt.timedelta(days=31))
    with rls_scope(user=shopper):
        cart_add(store=DbCartStore(shopper), variant_id=variant.pk)  # outside the window
