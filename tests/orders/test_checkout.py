from __future__ import annotations

import pytest

from catalog.models import Product, Variant
from orders.models import Order, OrderStatus
from orders.services.checkout import payment_handover, payment_line_items
from rdk.cachetags import tag_versions
from rdk.rls import rls_scope, rls_service_scope
from rdk.switches import switch_set
from tests.catalog.factories import VariantFactory
from tests.orders.factories import ADDRESS_FORM, UserFactory

pytestmark = pytest.mark.django_db

ORIGIN = {"HTTP_ORIGIN": "http://testserver"}


@pytest.fixture
def shopper(client):
    user = UserFactory()
    client.force_login(user)
    return user


def _cart_fingerprint(client) -> str:
    """What the cart page's checkout form sends (the page may come from its cache)."""
    page = client.get("/cart").text
    return page.split('name="fingerprint" value="')[1].split('"')[0]


def test_checkout_places_a_pending_order_priced_from_the_database(
    client, shopper, standin, django_capture_on_commit_callbacks
):
    variant = VariantFactory(stock_on_hand=3, price_override_amount=13500)
    client.post("/cart/add", {"variant": variant.pk, "quantity": 2}, **ORIGIN)
    fingerprint = _cart_fingerprint(client)
    before = tag_versions([f"product:{variant.product_id}"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/checkout", {"fingerprint": fingerprint, **ADDRESS_FORM})
    with rls_scope(user=shopper):
        order = Order.objects.prefetch_related("lines").get()
        lines = list(order.lines.all())
    assert response.status_code == 302
    # Handed over to the Checkout Session's page; asking again gives the same session.
    assert response["Location"].startswith(standin.url + "/c/pay/cs_test_")
    assert response["Location"] == payment_handover(order)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.total_amount == 27000
    assert [(li.unit_amount, li.quantity, li.sku) for li in lines] == [(13500, 2, variant.sku)]
    assert Variant.objects.get(pk=variant.pk).stock_reserved == 2
    assert tag_versions([f"product:{variant.product_id}"]) != before
    assert client.get("/cart").context["summary"].lines == []
    with rls_scope(user=shopper):
        assert payment_line_items(order) == [
            {
                "name": f"{variant.product.name} (US {variant.size.normalize():f})",
                "unit_amount": 13500,
                "currency": "usd",
                "quantity": 2,
            }
        ]


def test_a_price_change_after_viewing_the_cart_stops_checkout(
    client, shopper, standin, django_capture_on_commit_callbacks
):
    variant = VariantFactory()
    client.post("/cart/add", {"variant": variant.pk}, **ORIGIN)
    fingerprint = _cart_fingerprint(client)
    Product.objects.filter(pk=variant.product_id).update(price_amount=99900)
    # Committed, as a request's changes are: the corrected cart is shown afresh.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/checkout", {"fingerprint": fingerprint, **ADDRESS_FORM})
    response = client.get(response["Location"])
    assert "Your cart changed before checkout" in response.text
    assert "price changed" in response.text
    with rls_service_scope():
        assert Order.objects.count() == 0
    # Seen now: the second attempt goes through at the new price.
    response = client.post("/checkout", {"fingerprint": _cart_fingerprint(client), **ADDRESS_FORM})
    with rls_scope(user=shopper):
        assert Order.objects.get().total_amount == 99900


def test_checkout_needs_an_account_and_keeps_the_cart(client):
    variant = VariantFactory()
    client.post("/cart/add", {"variant": variant.pk}, **ORIGIN)
    response = client.post("/checkout")
    assert response.status_code == 302
    # Signing in leads back to checkout, not to the cart.
    assert response["Location"].startswith("/account/login/?next=/checkout")
    assert client.session["cart"]


def test_empty_cart_and_paused_checkout_are_explained(
    client, shopper, django_capture_on_commit_callbacks
):
    response = client.post("/checkout", ADDRESS_FORM, follow=True)
    assert "Your cart is empty." in response.text
    client.post("/cart/add", {"variant": VariantFactory().pk}, **ORIGIN)
    with django_capture_on_commit_callbacks(execute=True):
        switch_set(name="feature.checkout", on=False, actor="test")
    response = client.post("/checkout", ADDRESS_FORM, follow=True)
    assert "Checkout is paused" in response.text
    with rls_service_scope():
        assert Order.objects.count() == 0


def test_checkout_page_reviews_the_cart_before_payment(client, shopper):
    assert client.get("/checkout")["Location"] == "/cart"  # nothing to check out yet
    assert client.put("/checkout").status_code == 405
    variant = VariantFactory(product__name="Dunk Low")
    client.post("/cart/add", {"variant": variant.pk, "quantity": 2}, **ORIGIN)
    response = client.get("/checkout")
    assert response.status_code == 200
    assert "2 pairs" in response.text
    assert "2 × " in response.text
    assert "Dunk Low" in response.text
    assert f'name="fingerprint" value="{_cart_fingerprint(client)}"' in response.text
    with rls_service_scope():
        assert Order.objects.count() == 0  # reviewing places nothing
    assert "Where should we ship your pairs?" in response.text  # the address step
