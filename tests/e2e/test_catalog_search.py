"""Shop search and filters in chromium at desktop and phone widths (issue 14,
items 1 and 2): typos forgiven, filters kept, "Did you mean", filters applied
on change, results first on a phone with filters behind a disclosure, chips."""

from __future__ import annotations

import pytest

from catalog.demo import demo_seed
from tests.e2e.conftest import RESULTS

WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture
def seeded(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    demo_seed()


def shot(page, name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=False)


@pytest.mark.parametrize("device", list(WIDTHS))
def test_search_keeps_brand_names_the_search_and_suggests(live_server, page, seeded, device):
    width = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(live_server.url + "/products?brand=nike")
    page.get_by_role("searchbox").fill("air")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**q=air*")
    assert "brand=nike" in page.url, "searching keeps the brand filter"
    assert page.get_by_role("heading", level=1).inner_text() == "Results for “air”"
    assert page.title().startswith("“air”: search results")
    assert set(page.locator(".product-card-brand").all_text_contents()) == {"Nike"}
    chips = page.get_by_role("list", name="Active filters")
    assert chips.get_by_role("link", name="Remove Nike").is_visible()
    shot(page, f"search-results-{width}")

    # Removing the brand chip keeps the search.
    chips.get_by_role("link", name="Remove Nike").click()
    page.wait_for_url(lambda url: "brand=" not in url)
    assert "q=air" in page.url

    page.goto(live_server.url + "/products?q=zzjrdn+retor")
    assert "No pairs match “zzjrdn retor”" in page.locator(".empty-state").inner_text()
    suggestion = page.locator(".did-you-mean a")
    assert suggestion.inner_text() == "jordan retro"
    assert "filters" not in page.locator(".empty-state").inner_text()
    shot(page, f"search-did-you-mean-{width}")
    suggestion.click()
    page.wait_for_url("**q=jordan+retro*")
    assert page.locator(".product-card").count() > 0
    assert page.console_errors == []


def test_filters_and_sort_apply_on_change_on_desktop(live_server, page, seeded):
    page.goto(live_server.url + "/products")
    assert page.get_by_label("Sort by").is_visible(), "the filter panel is open beside results"
    page.get_by_label("Sort by").select_option("price_asc")
    page.wait_for_url("**sort=price_asc*")
    prices = page.locator(".product-card-price").all_text_contents()
    values = [float(p.strip("$").replace(",", "")) for p in prices]
    assert values == sorted(values)
    # Keyboard focus comes back to the control that changed.
    assert page.evaluate("document.activeElement.id") == "filter-sort"
    page.locator("#filter-in-stock").check()
    page.wait_for_url("**in_stock=on*")
    assert "sort=price_asc" in page.url
    shot(page, "filters-desktop-1280")
    assert page.console_errors == []


def test_filters_work_without_javascript(browser, live_server, seeded):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    try:
        page.goto(live_server.url + "/products")
        # Beside the results the panel shows without a script (CSS only).
        assert page.get_by_label("Sort by").is_visible()
        page.get_by_label("Sort by").select_option("price_desc")
        assert "sort=" not in page.url
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url("**sort=price_desc*")
    finally:
        context.close()


def test_phone_shows_results_first_and_filters_behind_a_button(live_server, page, seeded):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/products")
    first_card = page.locator(".product-card").first.bounding_box()
    assert first_card["y"] < 844, "the first result is on the first screen"
    assert not page.get_by_label("Sort by").is_visible()
    shot(page, "filters-phone-closed-390")
    toggle = page.get_by_text("Filter and sort")
    toggle.focus()
    page.keyboard.press("Enter")
    assert page.get_by_label("Sort by").is_visible()
    shot(page, "filters-phone-open-390")
    page.get_by_label("Jordan", exact=False).first.check()
    page.wait_for_url("**brand=jordan*")
    assert set(page.locator(".product-card-brand").all_text_contents()) == {"Jordan"}
    assert page.get_by_role("link", name="Remove Jordan").is_visible()
    shot(page, "filters-phone-chip-390")
    assert page.console_errors == []
