"""Emails as a person reads them: a shopper signs up and asks for a password
reset; staff read both in the ops console's Outbox; the reset link copied from
the Outbox's plain text sets a new password."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_opsadmin import sign_in
from tests.e2e.test_orders_flow import _sign_up
from tests.jobs import drain_tasks
from tests.staff import Staff

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "emails"


def test_welcome_and_reset_emails_in_the_outbox_and_the_link_works(
    live_server, page, browser, settings
):
    base = live_server.url
    settings.SITE_URL = base
    SHOTS.mkdir(parents=True, exist_ok=True)
    _sign_up(page, base, "jo@example.com")
    page.context.clear_cookies()
    page.goto(base + "/account/password-reset/")
    page.get_by_label("Email").fill("jo@example.com")
    page.get_by_role("button", name="Send the link").click()
    assert drain_tasks() == 2  # the worker's turn: welcome, then the reset

    staff_context = browser.new_context(viewport={"width": 1280, "height": 1000})
    staff = staff_context.new_page()
    sign_in(staff, base, "ops", Staff("ops").code())
    staff.get_by_role("link", name="Outbox").first.click()
    expect(staff.get_by_role("link", name="Welcome to Real Deal Kickz")).to_be_visible()
    staff.screenshot(path=str(SHOTS / "outbox.png"), full_page=True)

    staff.get_by_role("link", name="Reset your Real Deal Kickz password").click()
    preview = staff.frame_locator("iframe.ops-email-preview")
    expect(preview.get_by_role("link", name="Choose a new password")).to_be_visible()
    staff.screenshot(path=str(SHOTS / "reset_email.png"), full_page=True)
    text = staff.locator("pre.ops-email-text").inner_text()
    link = re.search(re.escape(base) + r"/account/password-reset/\S+", text)[0]
    staff.get_by_role("link", name="Jobs").first.click()
    expect(staff.get_by_role("heading", name="Schedule")).to_be_visible()
    expect(staff.get_by_text("deliver_email").first).to_be_visible()
    staff.screenshot(path=str(SHOTS / "jobs.png"), full_page=True)
    staff_context.close()

    page.goto(link)
    page.get_by_label("New password", exact=True).fill("fresh-laces-77")
    page.get_by_label("New password confirmation").fill("fresh-laces-77")
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_role("heading", name="Password saved")).to_be_visible()
    assert page.console_errors == []
