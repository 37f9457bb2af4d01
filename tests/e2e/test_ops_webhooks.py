"""The webhooks page in chromium: a webhook that failed is replayed from the UI
once the bug is fixed, and the order it pays becomes paid. Also leaves
screenshots of the webhooks pages and the ops home (desktop and phone) in
test-results/ops/.

The handler is registered by this test under its own event type: it marks the
order named by the session's reference paid through the orders
service (`order_mark_paid`), as orders' own checkout handler does, and fails
while `broken` is set."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from opsadmin.models import Snapshot, SnapshotCheck
from orders.models import Order, OrderStatus
from orders.services.lifecycle import order_mark_paid
from payments import registry
from payments.events import WebhookEvent
from payments.models import StripeEvent
from payments.services import webhook_receive
from rdk.rls import rls_service_scope
from tests.catalog.factories import ProductFactory
from tests.e2e.test_opsadmin import sign_in
from tests.orders.factories import UserFactory, order_for
from tests.payments.conftest import make_event
from tests.staff import Staff

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "ops"
EVENT_TYPE = "rdk.test.checkout_paid"


@pytest.fixture(autouse=True)
def _no_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


class PayOrder:
    broken = True

    def __call__(self, event: WebhookEvent) -> None:
        session = event.object
        with rls_service_scope():
            order = Order.objects.get(public_id=session.reference)
            if self.broken:
                raise KeyError("payment_intent")  # the bug the fix removes
            order_mark_paid(
                order=order,
                payment_reference=session.payment_intent,
                amount=session.amount_total,
                actor="system:stripe",
            )


@pytest.fixture
def pay_order():
    handler = PayOrder()
    registry.register(EVENT_TYPE, handler)
    yield handler
    registry.unregister(EVENT_TYPE)


def a_failed_payment(handler: PayOrder) -> tuple[Order, StripeEvent]:
    variant = ProductFactory(with_sizes=1).variants.first()
    order = order_for(UserFactory(), variant)
    event = make_event(
        EVENT_TYPE,
        client_reference_id=str(order.public_id),
        payment_intent="pi_e2e_1",
        amount_total=order.total_amount,
        payment_status="paid",
    )
    stored = webhook_receive(event=event, request_id="req-e2e-webhook").event
    assert stored.status == StripeEvent.Status.FAILED
    return order, stored


def test_replay_a_failed_webhook_from_the_ui_and_see_the_order_paid(live_server, page, pay_order):
    staff = Staff("ops")
    order, event = a_failed_payment(pay_order)
    sign_in(page, live_server.url, "ops", staff.code())

    page.goto(live_server.url + reverse("admin:ops_home"))
    webhooks_card = page.locator("section.ops-card", has_text="Stripe webhooks")
    assert "1 failed" in webhooks_card.inner_text()
    webhooks_card.get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name=event.stripe_id).click()
    assert page.locator("#event-status").inner_text() == "FAILED"
    assert "KeyError: 'payment_intent'" in page.locator(".ops-callout-bad").inner_text()

    pay_order.broken = False  # the fix is deployed
    page.get_by_role("button", name="Replay this event").click()
    assert f"Replayed {event.stripe_id}: processed." in page.locator(".messagelist").inner_text()
    assert page.locator("#event-status").inner_text() == "PROCESSED"
    assert "ops" in page.locator("#replays").inner_text()

    page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))
    assert "Paid" in page.locator("#content-main").inner_text()
    with rls_service_scope():
        order.refresh_from_db()
    assert (order.status, order.payment_reference) == (OrderStatus.PAID, "pi_e2e_1")
    assert page.console_errors == []


def test_screenshots_of_the_webhooks_pages_and_ops_home(live_server, browser, pay_order):
    """Leaves test-results/ops/webhooks-*.png, webhook-*.png, replay-failed-*.png and
    home-checklist-*.png (desktop 1280 and phone 390 wide) to look at."""
    staff = Staff("ops")
    now = timezone.now()
    snap = Snapshot.objects.create(
        created_at=now - dt.timedelta(hours=3),
        file_name="rdk-20261126T130000Z-a1b2c3.dump",
        engine="postgresql",
        size_bytes=48_213,
        sha256="ab" * 32,
        created_by="cron",
    )
    for kind in SnapshotCheck.Kind.values:
        SnapshotCheck.objects.create(
            snapshot=snap, kind=kind, ok=True, started_at=now - dt.timedelta(hours=2), actor="cron"
        )
    _, failed = a_failed_payment(pay_order)
    StripeEvent.objects.filter(pk=failed.pk).update(received_at=now - dt.timedelta(minutes=42))
    pay_order.broken = False
    for n in range(3):
        webhook_receive(event=make_event("invoice.paid"), request_id=f"req-inv-{n}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = {
        "home-checklist": reverse("admin:ops_home"),
        "webhooks": reverse("admin:ops_webhooks"),
        "webhooks-failed": reverse("admin:ops_webhooks") + "?status=failed",
        "webhook": reverse("admin:ops_webhook_detail", args=[failed.stripe_id]),
        "replay-failed": reverse("admin:ops_webhooks_replay_failed"),
    }
    codes = iter(staff.backup_codes)
    errors: list[str] = []
    for width, label in ((1280, "desktop"), (390, "phone")):
        context = browser.new_context(viewport={"width": width, "height": 900})
        shot_page = context.new_page()
        shot_page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        sign_in(shot_page, live_server.url, "ops", next(codes))
        for name, path in pages.items():
            response = shot_page.goto(live_server.url + path)
            assert response.status == 200, path
            overflow = shot_page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways at {width}px"
            shot_page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        context.close()
    assert errors == []
