"""Issue 14's staff items in chromium at desktop and phone widths: product
entry with slug prefill, a size run and a kept image (8); webhook events and
orders linked both ways and searchable (9); the sessions page shows live
sessions only (10). Screenshots land in test-results/ux/."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PIL import Image
from playwright.sync_api import expect

from catalog.models import Product
from opsadmin.models import SessionActivity
from payments.services import webhook_receive
from tests.catalog.factories import BrandFactory, VariantFactory
from tests.e2e.conftest import RESULTS
from tests.e2e.test_opsadmin import sign_in
from tests.orders.factories import PASSWORD as SHOPPER_PASSWORD
from tests.orders.factories import UserFactory, order_for
from tests.payments.conftest import make_event
from tests.staff import Staff

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"desktop": 1280, "phone": 390}
SHOTS = RESULTS / "ux"


@pytest.fixture(autouse=True)
def _no_otp_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def shot(page, name: str, *, full: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


@pytest.mark.parametrize("device", list(WIDTHS))
def test_product_entry_with_slug_size_run_and_kept_image(
    live_server, page, settings, tmp_path, device
):
    width = WIDTHS[device]
    settings.MEDIA_ROOT = str(tmp_path)
    BrandFactory(name="Nike", slug="nike")
    picture = tmp_path / "side.png"
    Image.new("RGB", (640, 480), "teal").save(picture, "PNG")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url, "ops", Staff("ops").code())
    page.goto(live_server.url + "/admin/catalog/product/add/")

    page.select_option("#id_brand", label="Nike")
    page.locator("#id_name").press_sequentially("Air Max 95 Neon")
    assert page.input_value("#id_slug") == "air-max-95-neon", "the slug follows the name"
    page.fill("#id_colorway", "Neon")
    page.fill("#id_style_code", "CT1689-001")
    page.fill("#id_release_date", "2026-03-01")
    page.fill("#id_run_from", "7")
    page.fill("#id_run_to", "13")
    page.select_option("#id_run_step", "0.5")
    page.fill("#id_run_stock", "3")
    page.fill("#id_run_stock_by_size", "9=5, 12.5=0")
    page.locator("#images-group .addlink").click()
    page.set_input_files("#id_images-0-image", str(picture))
    page.fill("#id_images-0-alt_text", "Side view")
    # The price is left out: the page comes back with an error.
    page.locator("input[name=_save]").click()
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.get_by_text("Image kept from your last try")).to_be_visible()
    shot(page, f"admin-product-error-{width}", full=True)
    page.fill("#id_price_amount", "18000")
    page.locator("input[name=_save]").click()
    page.wait_for_url("**/admin/catalog/product/")

    product = Product.objects.get(slug="air-max-95-neon")
    sizes = {variant.size: variant for variant in product.variants.all()}
    assert len(sizes) == 13
    assert sizes[Decimal("9")].stock_on_hand == 5
    assert sizes[Decimal("9.5")].sku == "CT1689-001-9.5"
    assert product.images.get().alt_text == "Side view"
    page.goto(live_server.url + f"/admin/catalog/product/{product.pk}/change/")
    shot(page, f"admin-product-saved-{width}", full=True)
    assert page.console_errors == []


@pytest.mark.parametrize("device", list(WIDTHS))
def test_webhook_events_and_orders_link_both_ways(live_server, page, device):
    width = WIDTHS[device]
    shopper = UserFactory()
    order = order_for(shopper, VariantFactory())
    event = make_event(
        "checkout.session.expired",
        client_reference_id=str(order.public_id),
        payment_intent="pi_e2e",
    )
    webhook_receive(event=event, request_id="req-e2e")
    webhook_receive(event=make_event("checkout.session.expired"), request_id="req-other")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url, "ops", Staff("ops").code())

    page.goto(live_server.url + "/admin/ops/webhooks/")
    page.get_by_label("Order number, email or Stripe id").fill(order.number)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**q=*")
    rows = page.locator("#webhook-events tbody tr")
    expect(rows).to_have_count(1)
    assert event["id"] in rows.first.inner_text()
    shot(page, f"webhooks-search-{width}")
    rows.first.get_by_role("link", name=event["id"]).click()
    expect(page.locator("#event-order")).to_have_text(order.number)
    shot(page, f"webhook-event-order-{width}")
    page.locator("#event-order").click()
    page.wait_for_url(f"**/admin/orders/order/{order.pk}/change/")
    page.get_by_role("link", name="Stripe events for this order").click()
    expect(page.locator("#webhook-events tbody")).to_contain_text(event["id"])
    assert page.console_errors == []


@pytest.mark.parametrize("device", list(WIDTHS))
def test_sessions_page_lists_only_live_sessions(live_server, page, browser, device):
    width = WIDTHS[device]
    ended, live = UserFactory(), UserFactory()
    for user in (ended, live):
        context = browser.new_context()
        shopper_page = context.new_page()
        shopper_page.goto(live_server.url + "/account/login/")
        shopper_page.get_by_label("Email").fill(user.email)
        shopper_page.get_by_label("Password").fill(SHOPPER_PASSWORD)
        shopper_page.get_by_role("button", name="Sign in").click()
        shopper_page.goto(live_server.url + "/account/orders")
        context.close()
    assert SessionActivity.objects.filter(ended_at=None).count() == 2
    ended.set_password("a-brand-new-Password-9")  # what the reset page does
    ended.save()

    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url, "ops", Staff("ops").code())
    page.goto(live_server.url + "/admin/ops/sessions/")
    listed = page.locator("main, #content").first.inner_text()
    assert live.email in listed
    assert ended.email not in listed
    shot(page, f"sessions-{width}")
    assert page.console_errors == []
