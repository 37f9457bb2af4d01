"""Issue 14's shopper items in chromium at desktop and phone widths: product
gallery and limits (3), cart lines (4), flows back to checkout, history and
pairs wording (5), checkout maintenance told up front (6), the phone header
(7). Screenshots land in test-results/ux/."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalog.demo import demo_seed
from catalog.models import Product
from orders.services.lifecycle import order_cancel
from rdk.rls import rls_service_scope
from rdk.switches import switch_set
from tests.e2e.conftest import RESULTS
from tests.orders.factories import PASSWORD as SHOPPER_PASSWORD
from tests.orders.factories import UserFactory, order_for

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"desktop": 1280, "phone": 390}
SHOTS = RESULTS / "ux"
PASSWORD = "laces-and-soles-42"


@pytest.fixture
def shop(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    demo_seed()
    today = timezone.now().date()
    product = (
        Product.objects.filter(images__position=1, release_date__lte=today, max_per_size=2)
        .filter(variants__stock_on_hand__gte=3)
        .order_by("-release_date", "id")
        .distinct()
        .first()
    )
    assert product is not None, "the demo has a released pair with two views and stock"
    return product


def shot(page, name: str, *, full: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def add_to_cart(page, base: str, variant, quantity: int = 1) -> None:
    response = page.request.post(
        base + "/cart/add",
        form={"variant": str(variant.pk), "quantity": str(quantity)},
        headers={"Origin": base},
    )
    assert response.ok


@pytest.mark.parametrize("device", list(WIDTHS))
def test_product_gallery_by_mouse_keyboard_and_touch_and_limits(live_server, page, shop, device):
    width = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + "/products")
    first_row = page.locator(".product-card img").first
    assert first_row.get_attribute("loading") is None, "the first row is not lazy"
    assert page.locator(".product-card img").nth(6).get_attribute("loading") == "lazy"

    page.goto(live_server.url + shop.get_absolute_url())
    main = page.locator("[data-gallery-main]")
    thumbs = page.locator(".gallery-thumb")
    assert thumbs.count() == 2
    first_src, second_src = (thumbs.nth(i).get_attribute("href") for i in range(2))
    assert main.get_attribute("src") == first_src
    thumbs.nth(1).click()  # mouse
    assert main.get_attribute("src") == second_src
    assert thumbs.nth(1).get_attribute("aria-current") == "true"
    thumbs.nth(1).focus()  # keyboard: arrows move between views, focus follows
    page.keyboard.press("ArrowRight")
    assert main.get_attribute("src") == first_src
    assert page.evaluate("document.activeElement === document.querySelector('.gallery-thumb')")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert main.get_attribute("src") == second_src
    thumbs.nth(0).click()
    # A swipe to the left shows the next view (pointer events, as touch sends).
    box = main.bounding_box()
    y = box["y"] + box["height"] / 2
    swipe = {"clientY": y, "pointerType": "touch"}
    main.dispatch_event("pointerdown", {**swipe, "clientX": box["x"] + 250})
    main.dispatch_event("pointerup", {**swipe, "clientX": box["x"] + 50})
    assert main.get_attribute("src") == second_src
    status = page.locator("[data-gallery-status]").inner_text()
    assert status == "Showing view 2 of 2"

    limit = page.locator("#quantity-limit")
    expect(limit).to_have_text(re.compile(r"Up to 2 pairs per size per order"))
    assert page.get_by_label("Quantity").get_attribute("aria-describedby") == "quantity-limit"
    shot(page, f"product-{width}")
    assert page.console_errors == []


@pytest.mark.parametrize("device", list(WIDTHS))
def test_cart_lines_show_the_pair_and_explain_limits(live_server, page, shop, device):
    width = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": 900})
    base = live_server.url
    variant = shop.variants.filter(stock_on_hand__gte=3).order_by("size").first()
    add_to_cart(page, base, variant)
    page.goto(base + "/cart")
    line = page.locator(".cart-line").first
    image = line.locator(".cart-line-image img")
    expect(image).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth > 0", image.element_handle())
    link = line.get_by_role("link", name=f"{shop.brand.name} {shop.name}")
    assert link.get_attribute("href") == shop.get_absolute_url()
    expect(line).to_contain_text(f"Colour: {shop.colorway}")
    expect(line).to_contain_text(f"Size {variant.size_label}")
    expect(line.locator(".cart-line-limit")).to_have_text("Up to 2 pairs of a size per order.")
    shot(page, f"cart-{width}")

    quantity = line.get_by_role("spinbutton")
    quantity.fill("5")
    line.get_by_role("button", name="Update").click()
    expect(page.locator(".message-error")).to_contain_text("You can buy at most 2")
    shot(page, f"cart-limit-{width}")
    link.click()
    page.wait_for_url(f"**{shop.get_absolute_url()}")
    assert page.console_errors == []


@pytest.mark.parametrize("device", list(WIDTHS))
def test_sign_up_from_checkout_returns_to_checkout(live_server, page, shop, device):
    width = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": 900})
    base = live_server.url
    add_to_cart(page, base, shop.variants.filter(stock_on_hand__gte=3).first(), 2)
    page.goto(base + "/cart")
    page.get_by_role("button", name="Check out").click()
    page.wait_for_url("**/account/login/?next=/checkout")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Name").fill("Jo Runner")
    page.get_by_label("Email").fill(f"jo-{width}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(base + "/checkout")
    expect(page.get_by_role("heading", name="Check out")).to_be_visible()
    expect(page.get_by_role("heading", name="2 pairs")).to_be_visible()
    expect(page.get_by_role("button", name="Continue to payment")).to_be_enabled()
    expect(page.locator(".cart-count")).to_have_text("2")
    shot(page, f"checkout-review-{width}")
    assert page.console_errors == []


def test_history_hides_canceled_attempts_and_counts_pairs(live_server, page, shop):
    base = live_server.url
    user = UserFactory()
    variants = list(shop.variants.filter(stock_on_hand__gte=3)[:2])
    kept = order_for(user, variants[0], quantity=2)
    dropped = order_for(user, variants[1])
    with rls_service_scope():
        order_cancel(order=dropped, actor="test", reason="went back from payment")
    page.goto(base + "/account/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(SHOPPER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(base + "/account/orders")
    expect(page.get_by_role("link", name=kept.number)).to_be_visible()
    expect(page.get_by_role("link", name=dropped.number)).to_have_count(0)
    expect(page.locator(".order-row")).to_contain_text("2 pairs")
    expect(page.locator(".abandoned-note")).to_have_text(
        "1 checkout canceled before payment is not shown: nothing was charged."
    )
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "orders-390")
    assert page.console_errors == []


@pytest.mark.parametrize("device", list(WIDTHS))
def test_checkout_maintenance_is_told_on_product_and_cart_pages(live_server, page, shop, device):
    width = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": 900})
    base = live_server.url
    add_to_cart(page, base, shop.variants.filter(stock_on_hand__gte=3).first(), 2)
    switch_set(name="maintenance.checkout", on=True, actor="test", reason="e2e")
    try:
        page.goto(base + shop.get_absolute_url())
        banner = page.locator(".maintenance-banner")
        expect(banner).to_contain_text("Checkout is paused for maintenance")
        expect(page.get_by_role("button", name="Checkout paused")).to_be_disabled()
        expect(page.locator(".cart-count")).to_have_text("2")
        shot(page, f"maintenance-product-{width}")
        response = page.goto(base + "/cart")
        assert response.status == 200
        expect(page.locator(".maintenance-banner")).to_be_visible()
        expect(page.get_by_role("button", name="Check out")).to_be_disabled()
        expect(page.locator(".cart-line")).to_have_count(1)
        expect(page.locator(".cart-count")).to_have_text("2")
        shot(page, f"maintenance-cart-{width}")
    finally:
        switch_set(name="maintenance.checkout", on=False, actor="test", reason="e2e")
    page.goto(base + shop.get_absolute_url())
    expect(page.locator(".maintenance-banner")).to_have_count(0)
    expect(page.get_by_role("button", name="Add to cart")).to_be_enabled()


def test_phone_header_is_one_row_with_a_menu(live_server, page, shop):
    base = live_server.url
    user = UserFactory()
    page.goto(base + "/account/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(SHOPPER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/products")
    header = page.locator(".site-header").bounding_box()
    assert header["height"] <= 72, f"the header is {header['height']}px tall"
    expect(page.locator(".cart-link")).to_be_visible()
    shot(page, "header-phone-390")
    page.get_by_text("Menu").click()
    menu = page.get_by_role("navigation", name="Menu")
    expect(menu.get_by_role("link", name="Orders")).to_be_visible()
    expect(menu.get_by_role("link", name="Account")).to_be_visible()
    shot(page, "header-phone-menu-390")
    menu.get_by_role("link", name="Orders").click()
    page.wait_for_url("**/account/orders")
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(page.get_by_text("Menu")).to_be_hidden()
    expect(page.get_by_role("link", name="Account")).to_be_visible()
    assert page.console_errors == []
