"""The storefront in chromium: filter, open a product, sold-out sizes disabled;
screenshots of home, list and product pages at desktop and phone widths."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.demo import demo_seed
from catalog.models import Product
from tests.e2e.conftest import RESULTS

WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture
def seeded(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    demo_seed()
    size = Decimal("9")
    product = (
        Product.objects.filter(brand__slug="nike", variants__size=size)
        .filter(variants__stock_on_hand=0)
        .order_by("-release_date", "name", "id")
        .distinct()
        .first()
    )
    assert product is not None, "the demo catalog has a Nike pair in US 9 with a sold-out size"
    return product


def test_filter_by_brand_and_size_then_see_sold_out_sizes_disabled(live_server, page, seeded):
    page.goto(live_server.url + "/products")
    # Each change applies at once (static/rdk/catalog.js).
    page.get_by_label("Nike", exact=False).first.check()
    page.wait_for_url("**/products?*brand=nike*")
    page.get_by_label("Size (US)").select_option("9")
    page.wait_for_url("**/products?*size=9*")
    assert "brand=nike" in page.url
    assert "size=9" in page.url
    brands = page.locator(".product-card-brand").all_text_contents()
    assert brands
    assert set(brands) == {"Nike"}

    page.locator(f'a[href="{seeded.get_absolute_url()}"]').click()
    page.wait_for_url(f"**{seeded.get_absolute_url()}")
    assert page.get_by_role("heading", level=1).inner_text() == seeded.name
    sold_out = seeded.variants.filter(stock_on_hand=0).first()
    available = seeded.variants.filter(stock_on_hand__gt=0).first()
    assert page.locator(f"#size-{sold_out.pk}").is_disabled()
    assert page.locator(f"#size-{available.pk}").is_enabled()
    # The radio sits over its label (a large click target); keyboard users tab to it.
    page.locator(f"#size-{available.pk}").focus()
    page.keyboard.press("Space")
    assert page.locator(f"#size-{available.pk}").is_checked()
    form = page.locator("form.buy-form")
    assert form.get_attribute("action") == "/cart/add"
    assert page.console_errors == []


@pytest.mark.parametrize("device", list(WIDTHS))
def test_pages_render_at_desktop_and_phone_widths(live_server, page, seeded, device):
    width = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": 900})
    RESULTS.mkdir(exist_ok=True)
    for name, path in [
        ("home", "/"),
        ("list", "/products"),
        ("product", seeded.get_absolute_url()),
    ]:
        response = page.goto(live_server.url + path)
        assert response.status == 200
        page.wait_for_load_state("networkidle")
        # Nothing overflows sideways on a phone.
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{path} is {scroll_width}px wide at {width}px"
        images = page.locator("main img")
        for index in range(min(images.count(), 6)):
            image = images.nth(index)
            image.scroll_into_view_if_needed()
            assert image.get_attribute("alt")
        # Load the lazy images too, so the full-page screenshot shows every card.
        page.evaluate("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
        # Resolves when every image has loaded or failed (evaluate is not subject to the CSP).
        page.evaluate(
            "Promise.all(Array.from(document.images).map(i => i.complete ? null : "
            "new Promise(done => { i.onload = i.onerror = done; })))"
        )
        assert page.evaluate("Array.from(document.images).every(i => i.naturalWidth > 0)")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(RESULTS / f"catalog-{name}-{width}.png"), full_page=True)
    assert page.console_errors == []
