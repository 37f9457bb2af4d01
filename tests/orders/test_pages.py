"""A signed-in shopper's cart and order list, kept for them alone
(orders/pages.py, rdk.pagecache.PersonalPage): served without a query while
nothing they show has changed, and rendered afresh on the very next view after
anything they show changes. Transactional: changes commit, as in a request."""

from __future__ import annotations

import datetime as dt
import types
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from catalog.services import brand_rename, product_price_set, variant_stock_set
from orders.models import Reservation
from orders.services.lifecycle import order_mark_paid, order_record_refund
from orders.services.reservations import reservation_release_for_order
from orders.services.shipping import order_ship
from rdk import pagecache
from rdk.rls import rls_service_scope
from rdk.switches import switch_set
from tests.catalog.factories import BrandFactory, ProductFactory, VariantFactory
from tests.orders.factories import UserFactory, order_for

pytestmark = pytest.mark.django_db(transaction=True)

UPS = "1Z999AA10123456784"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add(client, variant_id: int) -> None:
    response = client.post("/cart/add", {"variant": variant_id}, HTTP_ORIGIN="http://testserver")
    assert response.status_code == 302


def cart_page(client) -> str:
    response = client.get("/cart")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    return response.text


def orders_page(client) -> str:
    response = client.get("/account/orders")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    return response.text


@pytest.fixture
def size():
    """A size of a product priced $120, two pairs on hand."""
    brand = BrandFactory(name="Nike", slug="nike")
    product = ProductFactory(brand=brand, name="Dunk Low", price_amount=12000)
    return VariantFactory(product=product, size=Decimal("9"), stock_on_hand=2)


@pytest.fixture
def ana(size):
    user = UserFactory(email="ana@example.com")
    client = signed_in(user)
    add(client, size.pk)
    client.user = user
    return client


def test_a_warm_cart_and_order_list_ask_postgresql_nothing(ana, django_assert_num_queries):
    for page in (cart_page, orders_page):
        page(ana)  # rendered and kept; the session's activity record
        with django_assert_num_queries(0):
            text = page(ana)
        assert 'aria-label="1 pair in cart"' in text
    assert "Dunk Low" in cart_page(ana)


def test_every_cart_change_shows_on_the_next_view(ana, size):
    assert 'value="1" aria-describedby' in cart_page(ana)
    ana.post("/cart/update", {"variant": size.pk, "quantity": 2})
    page = cart_page(ana)
    assert 'value="2" aria-describedby' in page
    assert 'aria-label="2 pairs in cart"' in page
    other = VariantFactory(product=ProductFactory(name="Samba OG"), stock_on_hand=3)
    add(ana, other.pk)
    assert "Samba OG" in cart_page(ana)
    ana.post("/cart/remove", {"variant": size.pk})
    page = cart_page(ana)
    assert "Dunk Low" not in page
    assert 'aria-label="1 pair in cart"' in page


def test_a_price_stock_or_brand_change_of_a_pair_in_the_cart_shows_on_the_next_view(ana, size):
    assert "$120.00" in cart_page(ana)
    product_price_set(product_id=size.product_id, price_amount=13000)
    page = cart_page(ana)
    assert "$130.00" in page
    assert "price changed from 120.00 USD to 130.00 USD" in page
    variant_stock_set(variant_id=size.pk, on_hand=1)
    assert "Only 1 left in this size." in cart_page(ana)
    brand_rename(brand_id=size.product.brand_id, name="Nike SB")
    assert "Nike SB Dunk Low" in cart_page(ana)
    variant_stock_set(variant_id=size.pk, on_hand=0)
    page = cart_page(ana)
    assert "sold out and was removed" in page
    assert "Your cart is empty" in page


def test_another_shoppers_hold_and_its_expiry_show_on_the_next_view(ana, size, monkeypatch):
    assert "Up to 2 pairs of a size per order." in cart_page(ana)
    bo = UserFactory(email="bo@example.com")
    hold = order_for(bo, size)  # reserves one of the two pairs
    assert "Only 1 left in this size." in cart_page(ana)
    # Time passes beyond Bo's hold: nothing is written, yet Ana's page is
    # no longer kept (it was kept no longer than the hold) and the hold is
    # released when her cart is shown.
    with rls_service_scope():
        expired_at = timezone.now() - dt.timedelta(seconds=1)
        Reservation.objects.filter(order=hold).update(expires_at=expired_at)
    later = pagecache.time.time() + settings.ORDERS_RESERVATION_MINUTES * 60 + 1
    clock = types.SimpleNamespace(time=lambda: later, monotonic=pagecache.time.monotonic)
    monkeypatch.setattr(pagecache, "time", clock)
    assert "Up to 2 pairs of a size per order." in cart_page(ana)


def test_the_checkout_switch_shows_on_the_next_view(ana):
    assert "Checkout is paused" not in cart_page(ana)
    switch_set(name="maintenance.checkout", on=True, actor="staff:1")
    assert "Checkout is paused" in cart_page(ana)
    switch_set(name="maintenance.checkout", on=False, actor="staff:1")
    assert "Checkout is paused" not in cart_page(ana)


def test_an_order_placed_paid_shipped_and_refunded_shows_on_the_next_view(ana, size):
    assert "No orders yet" in orders_page(ana)
    order = order_for(ana.user, size)
    assert order.number in orders_page(ana)
    assert "Awaiting payment" in orders_page(ana)
    assert f"Order {order.number} awaits payment" in cart_page(ana)
    total = order.total_amount  # the pair in the cart and the one added: $240
    with rls_service_scope():
        order_mark_paid(order=order, payment_reference="pi_1", amount=total, actor="system:t")
    page = orders_page(ana)
    assert ">Paid</span>" in page
    assert "awaits payment" not in cart_page(ana)
    with rls_service_scope():
        order_ship(order=order, carrier="ups", tracking_number=UPS, actor="staff:1")
    assert "status-shipped" in orders_page(ana)
    with rls_service_scope():
        order_record_refund(order=order, amount=4000, refund_reference="re_1")
    assert "Partially refunded" in orders_page(ana)
    with rls_service_scope():
        order_record_refund(order=order, amount=total - 4000, refund_reference="re_2")
    assert ">Refunded</span>" in orders_page(ana)


def test_an_expired_checkout_shows_canceled_and_its_pairs_back_in_the_cart(ana, size):
    order = order_for(ana.user, size)
    assert "Your cart is empty" in cart_page(ana)
    page = orders_page(ana)
    assert "Awaiting payment" in page
    assert 'aria-label="0 pairs in cart"' in page  # the header's count, kept
    with rls_service_scope():
        reservation_release_for_order(order, "reservation expired", actor="system:expiry")
    page = orders_page(ana)
    assert "1 checkout canceled before payment is not shown" in page
    assert 'aria-label="2 pairs in cart"' in page  # the pair added and the one in the cart
    page = cart_page(ana)
    assert "Dunk Low" in page
    assert "awaits payment" not in page


def _personal_keys() -> list[str]:
    """The keys of every shopper's kept page in the shared cache, as the
    cache API names them (Redis under make test, else local memory)."""
    backend = cache._cache
    if hasattr(backend, "get_client"):
        raw = [key.decode() for key in backend.get_client().keys("*")]
    else:
        raw = list(backend._cache)
    return [key[key.index("personal:") :] for key in raw if "personal:" in key]


def test_two_shoppers_never_see_each_others_pages(ana, size):
    bo = signed_in(UserFactory(email="bo@example.com"))
    ana_order = order_for(ana.user, VariantFactory(stock_on_hand=3))
    for page in (cart_page, orders_page):
        page(ana)
        page(bo)
    for _ in range(2):  # rendered, then kept
        ana_cart, bo_cart = cart_page(ana), cart_page(bo)
        ana_orders, bo_orders = orders_page(ana), orders_page(bo)
        assert "Your cart is empty" in bo_cart
        assert 'aria-label="0 pairs in cart"' in bo_cart
        assert "No orders yet" in bo_orders
        assert ana_order.number not in bo_cart + bo_orders
        assert ana_order.number in ana_cart
        assert ana_order.number in ana_orders
    # Each page is kept under its shopper's own id, and holds no per-request
    # part: no session, no CSRF token, no header.
    ana_id, bo_id = ana.user.pk, bo.session["_auth_user_id"]
    keys = _personal_keys()
    assert sorted(keys) == sorted(
        f"personal:{page}:{pk}" for page in ("cart", "orders") for pk in (ana_id, bo_id)
    )
    for key in keys:
        stored = repr(cache.get(key))
        assert str(cache.get(key)["user"]) == key.rsplit(":", 1)[1]
        for client in (ana, bo):
            assert client.cookies[settings.SESSION_COOKIE_NAME].value not in stored
        assert "csrfmiddlewaretoken" not in stored
        assert "pairs in cart" not in stored


def test_a_page_kept_for_one_shopper_is_never_served_to_another(ana, size):
    bo_user = UserFactory(email="bo@example.com")
    bo = signed_in(bo_user)
    cart_page(ana)
    cart_page(bo)
    # Even if Ana's entry sat under Bo's key, with Bo's versions, Bo is not served it.
    ana_entry = cache.get(f"personal:cart:{ana.user.pk}")
    bo_entry = cache.get(f"personal:cart:{bo_user.pk}")
    forged = {**ana_entry, "versions": bo_entry["versions"]}
    cache.set(f"personal:cart:{bo_user.pk}", forged, 300)
    pagecache.local_personal.clear()
    page = cart_page(bo)
    assert "Dunk Low" not in page
    assert "Your cart is empty" in page


def test_forced_dynamic_rendering_renders_every_view(ana, size, django_assert_max_num_queries):
    switch_set(name="cache.force_dynamic", on=True, actor="staff:1")
    cart_page(ana)
    with django_assert_max_num_queries(20) as queries:
        assert "Dunk Low" in cart_page(ana)
    assert len(queries) > 0
