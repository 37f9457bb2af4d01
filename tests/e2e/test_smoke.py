def test_home_page_loads_styled_without_console_errors(live_server, page):
    response = page.goto(live_server.url + "/")
    assert response.status == 200
    assert "Real Deal Kickz" in page.title()
    assert page.get_by_role("heading", level=1).inner_text() == "Real Deal Kickz"
    header = page.locator("header.site-header")
    assert header.is_visible()
    # The stylesheet was served and applied: the header sticks to the top.
    assert header.evaluate("element => getComputedStyle(element).position") == "sticky"
    assert page.console_errors == []
