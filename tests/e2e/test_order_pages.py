"""The checkout address form, the admin order page and the packing slip in
chromium at desktop and phone widths; leaves test-results/orders/*.png to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from orders.models import Profile
from orders.services.shipping import order_ship
from rdk.rls import rls_scope, rls_service_scope
from tests.catalog.factories import ProductFactory
from tests.e2e.test_opsadmin import sign_in
from tests.orders.factories import PASSWORD, UserFactory, order_for
from tests.staff import Staff

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "orders"


@pytest.fixture(autouse=True)
def _no_throttle_between_steps(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def test_address_form_admin_order_page_and_packing_slip(live_server, browser):
    base = live_server.url
    shopper = UserFactory(email="jo@example.com")
    with rls_scope(user=shopper):
        Profile.objects.filter(user=shopper).update(
            full_name="Jo Runner",
            address_line1="1 Market St",
            city="San Francisco",
            region="CA",
            postal_code="94105",
            country="US",
        )
    variant = ProductFactory(name="Court Classic", with_sizes=1, price_amount=18500).variants.get()
    order = order_for(shopper, variant)
    with rls_service_scope():
        order.status, order.captured_amount, order.payment_reference = "paid", 18500, "pi_1"
        order.save()
        order_ship(order=order, carrier="ups", tracking_number="1Z999AA10123456784", actor="s")
    staff = Staff("ops")
    codes = iter(staff.backup_codes)
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        # The refused address answers 400 on purpose; nothing else may fail.
        page.on(
            "console",
            lambda m: m.type == "error" and "status of 400" not in m.text and errors.append(m.text),
        )

        page.goto(base + "/account/login/")
        page.get_by_label("Email").fill(shopper.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.request.post(
            base + "/cart/add", form={"variant": str(variant.pk)}, headers={"Origin": base}
        )
        page.goto(base + "/cart")
        page.get_by_role("button", name="Check out").click()
        expect(page.get_by_label("Postal code")).to_have_value("94105")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(SHOTS / f"checkout-address-{width}.png"), full_page=True)
        page.get_by_label("Postal code").fill("ABC")
        page.get_by_role("button", name="Continue to payment").click()
        expect(page.get_by_text("That is not a United States postal code")).to_be_visible()
        page.screenshot(path=str(SHOTS / f"checkout-address-error-{width}.png"), full_page=True)

        page.goto(base + order.get_absolute_url())
        expect(page.get_by_role("link", name="1Z999AA10123456784")).to_be_visible()
        page.screenshot(path=str(SHOTS / f"order-page-{width}.png"), full_page=True)

        page.context.clear_cookies()
        sign_in(page, base, "ops", next(codes))
        page.goto(base + f"/admin/orders/order/{order.pk}/change/")
        expect(page.get_by_text("185.00 USD").first).to_be_visible()
        page.screenshot(path=str(SHOTS / f"admin-order-{width}.png"), full_page=True)
        page.get_by_role("link", name="Packing slip").click()
        expect(page.get_by_text("1 Market St")).to_be_visible()
        page.screenshot(path=str(SHOTS / f"packing-slip-{width}.png"), full_page=True)
        context.close()
    assert errors == []
