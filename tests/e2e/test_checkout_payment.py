"""Buying a pair in chromium through the local Stripe stand-in, whose webhooks
reach the live server: cart → Stripe's checkout page → pay → success page → paid
order with its pair sold; a declined card leaves the order pending and reserved
until the shopper cancels, which releases it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from catalog.models import Variant
from orders.models import Order, OrderStatus, ReservationStatus
from payments.models import StripeEvent
from rdk.rls import rls_service_scope
from tests.catalog.factories import ProductFactory
from tests.e2e.test_orders_flow import _add, _sign_up, fill_shipping_address_by_keyboard
from tests.payments.conftest import (  # noqa: F401 (fixtures)
    control,
    standin_factory,
    webhook_secrets,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(live_server, settings, standin_factory):  # noqa: F811 (the imported fixture)
    settings.SITE_URL = live_server.url
    standin = standin_factory(webhook_url=live_server.url + "/api/stripe/webhook")
    # The checkout form's redirect goes to the stand-in's page (on a free port here).
    settings.SECURE_CSP = {**settings.SECURE_CSP, "form-action": ["'self'", standin.url]}
    product = ProductFactory(name="Court Classic", with_sizes=1, price_amount=14000)
    variant = product.variants.get()
    Variant.objects.filter(pk=variant.pk).update(stock_on_hand=2)
    return live_server.url, standin, variant


def _to_stripe(page, base: str, variant, email: str) -> None:
    _sign_up(page, base, email)
    assert _add(page, base, variant).ok
    page.goto(base + "/cart")
    page.get_by_role("button", name="Check out").click()
    fill_shipping_address_by_keyboard(page)
    expect(page.get_by_role("button", name=re.compile(r"^Pay "))).to_be_visible()


def _order() -> Order:
    with rls_service_scope():
        return Order.objects.prefetch_related("reservations").get()


def test_paying_with_4242_shows_the_paid_order_and_sells_the_pair(page, shop):
    base, standin, variant = shop
    _to_stripe(page, base, variant, "buyer@example.com")
    expect(page.get_by_text("Court Classic")).to_be_visible()
    page.get_by_label("4242 4242 4242 4242").check()
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()

    page.wait_for_url(re.compile(r"/checkout/success\?session_id=cs_test_"))
    expect(page.get_by_role("heading", name="Thank you — your order is paid")).to_be_visible()
    order = _order()
    assert order.status == OrderStatus.PAID
    stock = Variant.objects.get(pk=variant.pk)
    assert (stock.stock_on_hand, stock.stock_reserved) == (1, 0)

    # The webhook arrives too, and changes nothing more.
    assert control(standin, "/_standin/deliveries/flush")[1]["settled"] is True
    assert StripeEvent.objects.get(type="checkout.session.completed").status == "processed"
    stock.refresh_from_db()
    assert (stock.stock_on_hand, stock.stock_reserved) == (1, 0)

    page.get_by_role("link", name="View order").click()
    expect(page.locator(".status-paid").first).to_have_text("Paid")
    assert page.console_errors == []


def test_a_declined_card_keeps_the_order_reserved_until_the_shopper_cancels(page, shop):
    base, standin, variant = shop
    _to_stripe(page, base, variant, "declined@example.com")
    page.get_by_label("4000 0000 0000 0002").check()
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")

    assert control(standin, "/_standin/deliveries/flush")[1]["settled"] is True
    order = _order()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert {r.status for r in order.reservations.all()} == {ReservationStatus.ACTIVE}
    assert Variant.objects.get(pk=variant.pk).stock_reserved == 1

    # The order page says what happened; the shopper can pay again from there.
    page.goto(base + order.get_absolute_url())
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")
    page.get_by_role("button", name="Pay now").click()
    expect(page.get_by_role("button", name=re.compile(r"^Pay "))).to_be_visible()

    page.get_by_role("link", name="Cancel and return to the shop").click()
    page.wait_for_url(base + "/cart")
    expect(page.get_by_text("Payment canceled")).to_be_visible()
    expect(page.locator(".cart-line")).to_have_count(1)
    assert _order().status == OrderStatus.CANCELED
    stock = Variant.objects.get(pk=variant.pk)
    assert (stock.stock_on_hand, stock.stock_reserved) == (2, 0)
    assert page.console_errors == []
