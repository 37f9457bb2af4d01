"""The OTP admin and the ops console in chromium."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from opsadmin.services.incidents import incident_create
from tests.catalog.factories import ProductFactory
from tests.staff import PASSWORD, Staff

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "ops"


@pytest.fixture(autouse=True)
def _no_throttle_between_steps(settings):
    # A test that types a wrong code and then the right one must not wait for
    # the throttle; throttling has its own tests.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def sign_in(page, base: str, username: str, code: str, password: str = PASSWORD) -> None:
    page.goto(base + "/admin/")
    page.fill("#id_login", username)
    page.fill("#id_password", password)
    page.fill("#id_code", code)
    page.click("input[type=submit]")


def test_sign_in_refused_without_the_right_code_accepted_with_it(live_server, page):
    staff = Staff("ops")
    right = staff.code()
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    sign_in(page, live_server.url, "ops", wrong)
    refused = "That username, password or code is not right"
    assert page.locator(".errornote").inner_text().startswith(refused)
    assert "/admin/login/" in page.url
    sign_in(page, live_server.url, "ops", "")
    assert page.locator(".errornote").inner_text().startswith(refused)
    sign_in(page, live_server.url, "ops", right)
    assert page.url == live_server.url + "/admin/"
    assert page.get_by_role("link", name="Daily checklist").first.is_visible()
    assert page.console_errors == []


def test_a_backup_code_works_once(live_server, page):
    staff = Staff("ops")
    code = staff.backup_codes[0]
    sign_in(page, live_server.url, "ops", code)
    assert page.url == live_server.url + "/admin/"
    page.locator("#logout-form button").click()
    sign_in(page, live_server.url, "ops", code)
    assert "/admin/login/" in page.url
    assert page.locator(".errornote").is_visible()


def test_rotating_a_users_sessions_signs_out_their_other_browser(live_server, page, browser):
    admin_staff, victim = Staff("ops"), Staff("lost-phone")
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    other_page = other.new_page()
    try:
        sign_in(other_page, live_server.url, "lost-phone", victim.backup_codes[0])
        assert other_page.url == live_server.url + "/admin/"

        sign_in(page, live_server.url, "ops", admin_staff.code())
        page.goto(live_server.url + "/admin/ops/sessions/")
        row = page.locator(f"#user-{victim.user.pk}")
        assert "lost-phone" in row.inner_text()
        row.locator("input[name=confirm]").check()
        row.get_by_role("button", name="Sign out everywhere").click()
        assert "signed out on its next request" in page.locator(".messagelist").inner_text()

        other_page.goto(live_server.url + "/admin/ops/")
        assert "/admin/login/" in other_page.url
        page.goto(live_server.url + "/admin/ops/")  # the admin who rotated is still in
        assert page.url == live_server.url + "/admin/ops/"
    finally:
        other.close()


def test_screenshots_of_every_ops_page(live_server, page, browser, is_postgres, settings, tmp_path):
    """Leaves test-results/ops/*.png (desktop and phone) to look at."""
    settings.SNAPSHOT_DIR = str(tmp_path)
    settings.INCIDENT_EXPORT_DIR = str(tmp_path / "incidents")
    staff = Staff("ops")
    incident = incident_create(
        title="Checkout Down",
        severity="P0",
        impact="Checkout 500 during session creation",
        trigger_source="sentry",
        actor="ops",
        started_at=timezone.now() - dt.timedelta(minutes=20),
        request_ids=["9f2c1e0d5b7a4c3e8d6f1a2b3c4d5e6f"],
        stripe_event_ids=["evt_1QxYz"],
    )
    incident_create(
        title="Slow product pages",
        severity="P2",
        impact="p95 over 800 ms on /products",
        trigger_source="load_test",
        actor="ops",
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = {
        "home": "/admin/ops/",
        "switches": "/admin/ops/switches/",
        "sessions": "/admin/ops/sessions/",
        "incidents": "/admin/ops/incidents/",
        "incident": incident.get_absolute_url(),
        "incident-new": "/admin/ops/incidents/new/",
        "snapshots": "/admin/ops/snapshots/",
        "cache": "/admin/ops/cache/",
        "audit": "/admin/opsadmin/auditentry/",
        "index": "/admin/",
    }
    codes = iter(staff.backup_codes)
    errors: list[str] = []
    for width, label in ((1280, "desktop"), (390, "phone")):
        context = browser.new_context(viewport={"width": width, "height": 900})
        shot_page = context.new_page()
        shot_page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        shot_page.goto(live_server.url + "/admin/login/")
        shot_page.screenshot(path=str(SHOTS / f"login-{label}.png"), full_page=True)
        sign_in(shot_page, live_server.url, "ops", next(codes))
        if label == "desktop":
            shot_page.goto(live_server.url + "/admin/ops/switches/")
            row = shot_page.locator("#switch-maintenance\\.checkout")
            row.locator("input[name=reason]").fill("incident #1: checkout 500s")
            row.locator("input[name=confirm]").check()
            row.get_by_role("button", name="Turn on").click()
            if is_postgres:
                shot_page.goto(live_server.url + "/admin/ops/snapshots/")
                shot_page.get_by_role("button", name="Take a snapshot now").click()
                shot_page.get_by_role("button", name="Run restore check").click()
                assert "Restore check passed" in shot_page.locator(".messagelist").inner_text()
            shot_page.goto(live_server.url + "/admin/ops/cache/")
            product = ProductFactory()  # a tag must name something that exists
            shot_page.fill("#id_tags", f"{product.cache_tag} {product.brand.cache_tag}")
            shot_page.fill("#id_reason", "price fixed by hand")
            shot_page.get_by_role("button", name="Revalidate").click()
        for name, path in pages.items():
            response = shot_page.goto(live_server.url + path)
            assert response.status == 200, path
            shot_page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        assert errors == []
        context.close()
    assert page is not None


def test_the_funnel_alert_and_the_slow_queries_page(live_server, page):
    from opsadmin.models import SlowRequest
    from rdk.models import FunnelCount

    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    steps = {
        "product_view": 420,
        "cart_add": 96,
        "checkout_start": 41,
        "stripe_handover": 30,
        "paid": 9,
        "abandoned": 12,
    }
    FunnelCount.objects.bulk_create(
        FunnelCount(hour=hour, step=s, count=n) for s, n in steps.items()
    )
    SlowRequest.objects.create(
        at=timezone.now(),
        request_id="4f1c9e0d2b7a4c1e9d3f5a6b7c8d9e0f",
        method="GET",
        path="/products",
        status=200,
        duration_ms=1840,
        slow_queries=1,
        slowest_query_ms=1620,
        slowest_query='SELECT "catalog_product"."id" FROM "catalog_product" ORDER BY …',
    )
    staff = Staff("ops")
    sign_in(page, live_server.url, "ops", staff.code())
    page.goto(live_server.url + "/admin/ops/")
    alert = page.locator("#funnel [role=alert]")
    assert "Paid / handed to Stripe is 30 %" in alert.inner_text()
    assert page.locator("#funnel table").first.is_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#funnel").screenshot(path=str(SHOTS / "funnel.png"))
    page.goto(live_server.url + "/admin/ops/slow-queries/")
    assert "pg_stat_statements is not available" in page.locator("#content-main").inner_text()
    assert page.get_by_text("4f1c9e0d2b7a4c1e9d3f5a6b7c8d9e0f").is_visible()
    page.screenshot(path=str(SHOTS / "slow-queries.png"), full_page=True)


def test_a_role_without_the_permission_sees_which_one_is_missing(live_server, page):
    from django.contrib.auth.models import Group

    from opsadmin.services.otp import enrolment_link_issue
    from tests.staff import make_user

    staff = Staff("support")
    staff.user.is_superuser = False
    staff.user.save(update_fields=["is_superuser"])
    staff.user.groups.add(Group.objects.get(name="Support"))
    sign_in(page, live_server.url, "support", staff.code())
    response = page.goto(live_server.url + "/admin/ops/switches/")
    assert response.status == 403
    assert "opsadmin.view_switches" in page.locator("#missing-permissions").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "forbidden.png"), full_page=True)
    page.console_errors.clear()  # chromium reports the 403 itself as a failed load

    token, _ = enrolment_link_issue(user=make_user("newbie"), actor="owner")
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/admin/enrol/{token}/")
    page.fill("#id_password", PASSWORD)
    page.screenshot(path=str(SHOTS / "enrol-link.png"), full_page=True)
    page.click("input[type=submit]")
    assert page.url == live_server.url + "/admin/enrol/"
    assert page.locator(".ops-qr svg").is_visible()
    assert page.console_errors == []
