"""A shopper's whole path in chromium: sign up, cart, sign out and in (merge),
check out to the payment hand-over (the local Stripe stand-in's page), order
history; another shopper gets 404."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from catalog.models import Variant
from orders.models import Order, OrderStatus
from rdk.rls import rls_service_scope
from tests.catalog.factories import ProductFactory
from tests.payments.conftest import standin_factory, webhook_secrets  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "laces-and-soles-42"


def _add(page, base: str, variant: Variant, quantity: int = 1):
    """What the product page's form does: a same-origin POST to orders:cart_add."""
    return page.request.post(
        base + "/cart/add",
        form={"variant": str(variant.pk), "quantity": str(quantity)},
        headers={"Origin": base},
    )


def _sign_up(page, base: str, email: str) -> None:
    page.goto(base + "/account/signup/")
    page.get_by_label("Name").fill("Jo Runner")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()


def fill_shipping_address_by_keyboard(page) -> None:
    """The checkout address step with the keyboard only: Tab from field to
    field, type the country's name into its list, Enter submits."""
    page.get_by_label("Full name").focus()
    for text in ("Jo Runner", "1 Market St", "Apt 4", "San Francisco", "CA", "94105"):
        page.keyboard.press("Control+A")
        page.keyboard.type(text)
        page.keyboard.press("Tab")
    page.keyboard.type("United States")  # the focused country list picks it
    page.keyboard.press("Tab")
    page.keyboard.type("+1 415 555 0100")
    page.keyboard.press("Enter")


def test_shopper_signs_up_fills_cart_merges_and_checks_out(
    live_server,
    page,
    browser,
    settings,
    standin_factory,  # noqa: F811 (the imported fixture)
):
    base = live_server.url
    settings.SITE_URL = base
    standin = standin_factory()
    settings.SECURE_CSP = {**settings.SECURE_CSP, "form-action": ["'self'", standin.url]}
    product = ProductFactory(name="Court Classic", with_sizes=3)
    small, mid, large = product.variants.order_by("size")

    _sign_up(page, base, "jo@example.com")
    assert _add(page, base, small).ok
    assert _add(page, base, mid, 2).ok
    page.goto(base + "/cart")
    expect(page.locator(".cart-line")).to_have_count(2)
    expect(page.locator(".cart-count")).to_have_text("3")

    # Sign out, add a size anonymously (over the cap), sign in: the carts merge.
    page.get_by_role("link", name="Account").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".cart-count")).to_have_text("0")
    assert _add(page, base, large).ok
    assert _add(page, base, mid, 2).ok
    page.goto(base + "/account/login/")
    page.get_by_label("Email").fill("jo@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("kept 2 (of 4) because of the limit per size")).to_be_visible()
    expect(page.get_by_text("added from your earlier cart")).to_be_visible()

    page.goto(base + "/cart")
    expect(page.locator(".cart-line")).to_have_count(3)
    page.get_by_role("button", name="Check out").click()
    expect(page.get_by_role("heading", name="Where should we ship your pairs?")).to_be_visible()
    fill_shipping_address_by_keyboard(page)
    page.wait_for_url(re.compile(re.escape(standin.url) + r"/c/pay/cs_test_"))
    page.goto(base + "/account/orders")
    page.get_by_role("link", name=re.compile(r"^RDK-")).click()
    expect(page.get_by_role("heading", name=re.compile(r"^RDK-"))).to_be_visible()
    expect(page.get_by_text("Your pairs are reserved until")).to_be_visible()
    expect(page.locator(".address")).to_contain_text("San Francisco CA 94105")
    number = page.get_by_role("heading", name=re.compile(r"^RDK-")).inner_text()
    order_url = page.url

    page.get_by_role("link", name="Orders").first.click()
    expect(page.get_by_role("link", name=number)).to_be_visible()
    with rls_service_scope():
        order = Order.objects.get(number=number)
        assert order.status == OrderStatus.PENDING_PAYMENT
        assert order.total_amount == 4 * product.price_amount
        assert order.ship_to["postal_code"] == "94105"
        assert order.ship_to["phone"] == "+1 415 555 0100"
    assert Variant.objects.get(pk=mid.pk).stock_reserved == 2

    # A second shopper opening the first one's order URL: 404, not 403.
    other = browser.new_context(viewport={"width": 390, "height": 844})
    other_page = other.new_page()
    _sign_up(other_page, base, "sam@example.com")
    response = other_page.goto(order_url)
    assert response.status == 404
    expect(other_page.get_by_role("heading", name="We couldn't find that pair")).to_be_visible()
    other.close()
    assert page.console_errors == []


def test_bad_cart_input_is_explained_in_the_page(live_server, page):
    base = live_server.url
    variant = ProductFactory(with_sizes=1).variants.get()
    for form, message in (
        ({"variant": "999999", "quantity": "1"}, "That size is not available."),
        ({"variant": str(variant.pk), "quantity": "0"}, "Quantity must be at least 1"),
        ({"variant": str(variant.pk), "quantity": "99"}, "at most 2 pairs"),
    ):
        response = page.request.post(
            base + "/cart/add", form=form, headers={"Origin": base}, max_redirects=0
        )
        assert response.status == 302
        page.goto(base + "/cart")
        expect(page.locator(".message-error")).to_contain_text(message)
    response = page.request.post(
        base + "/cart/add",
        form={"variant": str(variant.pk)},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status == 403
