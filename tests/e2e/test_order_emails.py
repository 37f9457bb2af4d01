"""Order emails as a person reads them: staff open each one in the Outbox
(confirmed, refunded, shipped, not paid), and the shopper sees on the order page
what was sent and when. Screenshots land in test-results/emails/."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from orders.services.shipping import order_ship
from rdk.models import OutboundEmail
from rdk.rls import rls_service_scope
from tests.e2e.test_emails import SHOTS
from tests.e2e.test_opsadmin import sign_in
from tests.jobs import drain_tasks
from tests.orders.payment_helpers import (
    deliver,
    handover,
    paid_order,
    placed_order,
    refund,
    standin_events,
)
from tests.payments.conftest import (  # noqa: F401 (fixtures)
    control,
    standin,
    standin_factory,
    webhook_secrets,
)
from tests.staff import Staff

pytestmark = pytest.mark.django_db(transaction=True)


def test_order_emails_read_well_in_the_outbox_and_on_the_order_page(
    live_server,
    page,
    browser,
    settings,
    standin,  # noqa: F811
):
    base = live_server.url
    settings.SITE_URL = base
    SHOTS.mkdir(parents=True, exist_ok=True)
    client = Client()
    shopper, _, order = paid_order(client, standin, price=18500, quantity=2)
    refund(order, 5000)
    with rls_service_scope():
        order_ship(
            order=order, carrier="ups", tracking_number="1Z999AA10123456784", actor="staff:1"
        )
    _, _, lapsed = placed_order()
    control(standin, f"/_standin/sessions/{handover(lapsed)}/expire", {"deliver": "hold"})
    assert deliver(client, standin_events(standin, "checkout.session.expired")[0]) == 200
    assert drain_tasks() == 4

    staff_context = browser.new_context(viewport={"width": 1280, "height": 1100})
    staff = staff_context.new_page()
    sign_in(staff, base, "ops", Staff("ops").code())
    staff.goto(base + reverse("admin:ops_outbox"))
    staff.screenshot(path=str(SHOTS / "outbox_orders.png"), full_page=True)
    reader = browser.new_context(viewport={"width": 680, "height": 900})
    for email in OutboundEmail.objects.order_by("id"):
        staff.goto(base + reverse("admin:ops_outbox_detail", args=[email.public_id]))
        preview = staff.frame_locator("iframe.ops-email-preview")
        number = email.subject.split()[1].rstrip(":")  # "Order RDK-…"
        expect(preview.get_by_text(number).first).to_be_visible()
        staff.screenshot(path=str(SHOTS / f"outbox_{email.kind}.png"), full_page=True)
        # The email alone, at a phone-ish width, as the shopper's mail app shows it.
        single = reader.new_page()
        reader.add_cookies(staff_context.cookies())
        single.goto(base + reverse("admin:ops_outbox_html", args=[email.public_id]))
        expect(single.get_by_text(number).first).to_be_visible()
        single.screenshot(path=str(SHOTS / f"{email.kind}.png"), full_page=True)
        single.close()
    reader.close()
    staff_context.close()

    client.force_login(shopper)
    session = client.cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
    page.goto(base + order.get_absolute_url())
    emails = page.locator(".order-emails")
    expect(emails.get_by_text(f"Order {order.number} confirmed: thank you")).to_be_visible()
    expect(emails.get_by_text(f"Order {order.number}: $50.00 refunded")).to_be_visible()
    expect(emails.get_by_text(f"Order {order.number} has shipped")).to_be_visible()
    page.screenshot(path=str(SHOTS / "order_page_emails.png"), full_page=True)
    assert page.console_errors == []
