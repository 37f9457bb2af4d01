"""The Content-Security-Policy holds in a real browser: pages, the admin and the
API docs run without 'unsafe-inline' and without a single violation (chromium
reports each refused style or script as a console error)."""

from __future__ import annotations

import pytest
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from rdk.ratelimits import rate_limit


def _ok(request):
    from django.http import HttpResponse

    return HttpResponse("ok")


urlpatterns = [
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("limited", rate_limit("api_ip")(_ok)),
    path("", include("rdk.urls")),
]


@pytest.fixture(autouse=True)
def _urls(settings):
    settings.ROOT_URLCONF = __name__


def violations(page) -> list[str]:
    # Only violations count: pages without an icon link (the admin, a bare
    # response) make chromium ask for /favicon.ico, whose 404 it also reports.
    return [error for error in page.console_errors if "Content Security Policy" in error]


@pytest.mark.django_db
def test_api_docs_render_under_the_policy(live_server, page):
    response = page.goto(live_server.url + "/api/v1/docs/")
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "'nonce-" in csp  # the page's one inline script and style carry it
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Real Deal Kickz API" in page.locator(".swagger-ui .info .title").inner_text()
    assert violations(page) == []


@pytest.mark.django_db
def test_admin_login_renders_under_the_policy(live_server, page):
    response = page.goto(live_server.url + "/admin/login/")
    assert response.status == 200
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert page.locator("#id_login").is_visible()
    assert page.locator("#id_code").is_visible()
    assert violations(page) == []


@pytest.mark.django_db
def test_the_429_page_is_styled_and_clean(live_server, page, settings):
    settings.RATE_LIMITS = {"api_ip": "1/h"}
    assert page.goto(live_server.url + "/limited").status == 200
    response = page.goto(live_server.url + "/limited")
    assert response.status == 429
    assert int(response.headers["retry-after"]) > 0
    assert page.get_by_role("heading", level=1).inner_text() == "Slow down a little"
    header = page.locator("header.site-header")
    assert header.evaluate("element => getComputedStyle(element).position") == "sticky"
    assert violations(page) == []
