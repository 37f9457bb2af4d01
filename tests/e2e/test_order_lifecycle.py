"""Issue 10's "done when", in chromium, as people do it: a shopper signs up,
adds a pair, enters a shipping address and pays with 4242 on the Stripe
stand-in's page; the task worker (a real `manage.py db_worker`, as `make run`
starts it) sends the confirmation; staff (password + TOTP) read it in the
Outbox, mark the order shipped with a tracking number and refund $50.00 in the
admin; the shopper's order page then lists the emails, the tracking link,
"Refunded $50.00", and still says the order shipped.

Each key page is saved as test-results/lifecycle/<step>.png, and the test
checks the text shown on it at that moment (`document.body.innerText` of the
page and its frames, saved beside it as <step>.txt): what the screenshot says
is what is asserted."""

from __future__ import annotations

import re
import subprocess

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from catalog.models import Variant
from orders.emails import CONFIRMED, REFUNDED, SHIPPED
from orders.models import Order
from rdk.models import OutboundEmail
from rdk.rls import rls_service_scope
from tests.catalog.factories import BrandFactory, ProductFactory
from tests.e2e.conftest import RESULTS
from tests.e2e.test_opsadmin import sign_in
from tests.e2e.test_orders_flow import _sign_up
from tests.jobs import DEADLINE, start_db_worker, wait_for
from tests.payments.conftest import (  # noqa: F401 (fixtures)
    control,
    standin_factory,
    webhook_secrets,
)
from tests.staff import Staff

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SHOTS = RESULTS / "lifecycle"
SHOPPER = "jo.runner@example.com"
TRACKING = "1Z999AA10123456784"
TRACKING_LINK = f"https://www.ups.com/track?tracknum={TRACKING}"


def screenshot(page, step: str) -> str:
    """Save the page as a person sees it and return the text shown on it at
    that moment: the page's visible text, then each frame's (an email preview)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{step}.png"), full_page=True)
    texts = [page.locator("body").inner_text()]
    texts += [frame.locator("body").inner_text() for frame in page.frames[1:]]
    text = "\n".join(texts)
    (SHOTS / f"{step}.txt").write_text(text)
    return text


def squeezed(text: str) -> str:
    """Text with every run of whitespace (table cells, line breaks) as one space."""
    return " ".join(text.split())


def assert_shows(text: str, *phrases: str) -> None:
    missing = [phrase for phrase in phrases if phrase not in text]
    assert not missing, f"not on the page: {missing}\n{text}"


def assert_no_minor_units(text: str, *amounts: int) -> None:
    """Money is read in currency units: no amount appears as its minor units."""
    shown = [amount for amount in amounts if str(amount) in text]
    assert not shown, f"minor units on the page: {shown}"


class Worker:
    """The task worker `make run` starts, on this test's database; it writes
    the mail it sends to files in `mail`."""

    def __init__(self, tmp_path) -> None:
        self.mail = tmp_path / "mail"
        self.log = tmp_path / "worker.log"
        with self.log.open("w") as log:
            self.process = start_db_worker(
                "--queue-name",
                "*",
                "--no-reload",
                "--interval",
                "0.2",
                env={"EMAIL_URL": f"filemail://{self.mail}"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_sent(self, kind: str) -> OutboundEmail:
        def sent() -> bool:
            assert self.process.poll() is None, f"the worker died:\n{self.log.read_text()}"
            return OutboundEmail.objects.filter(kind=kind, status="sent").exists()

        wait_for(sent, f"the worker to send the {kind} email")
        return OutboundEmail.objects.get(kind=kind)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=DEADLINE)


@pytest.fixture
def worker(tmp_path):
    running = Worker(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def shop(live_server, settings, standin_factory):  # noqa: F811 (the imported fixture)
    settings.SITE_URL = live_server.url
    standin = standin_factory(webhook_url=live_server.url + "/api/stripe/webhook")
    # The checkout form's redirect goes to the stand-in's page (on a free port here).
    settings.SECURE_CSP = {**settings.SECURE_CSP, "form-action": ["'self'", standin.url]}
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    product = ProductFactory(
        brand=BrandFactory(name="New Balance", slug="new-balance"),
        name="550 White Green",
        colorway="White/Green",
        with_sizes=1,
        price_amount=18500,
    )
    Variant.objects.filter(product=product).update(stock_on_hand=2)
    return live_server.url, standin, product


@pytest.fixture
def staff() -> Staff:
    """Support reads the outbox and refunds; Fulfilment ships. No superuser."""
    member = Staff("sam")
    member.user.is_superuser = False
    member.user.save(update_fields=["is_superuser"])
    member.user.groups.add(*Group.objects.filter(name__in=["Support", "Fulfilment"]))
    return member


def _order() -> Order:
    with rls_service_scope():
        return Order.objects.get()


def test_a_shopper_buys_staff_ship_and_refund_and_the_shopper_sees_it_all(
    page, browser, shop, staff, worker
):
    base, standin, product = shop

    # The shopper signs up, adds a pair and checks out with an address.
    _sign_up(page, base, SHOPPER)
    assert_shows(screenshot(page, "01-account"), "Your account", SHOPPER)

    page.goto(base + product.get_absolute_url())
    page.get_by_role("radio").first.check()  # the one size, US 7
    page.get_by_role("button", name="Add to cart").click()
    page.goto(base + "/cart")
    assert_shows(screenshot(page, "02-cart"), "New Balance 550 White Green", "$185.00")

    page.get_by_role("button", name="Check out").click()
    page.get_by_label("Full name").fill("Jo Runner")
    page.get_by_label("Street address").fill("1 Market St")
    page.get_by_label("Apartment, suite, floor (optional)").fill("Apt 4")
    page.get_by_label("City").fill("San Francisco")
    page.get_by_label("State / province / region").fill("CA")
    page.get_by_label("Postal code").fill("94105")
    page.get_by_label("Country").select_option(label="United States")
    assert_shows(screenshot(page, "03-checkout-address"), "Where should we ship", "$185.00")
    page.get_by_role("button", name="Continue to payment").click()

    # Stripe's hosted page (the stand-in): pay with 4242.
    pay = page.get_by_role("button", name="Pay $185.00")
    expect(pay).to_be_visible()
    assert_shows(
        screenshot(page, "04-stripe-checkout"), "550 White Green (US 7)", "4242 4242 4242 4242"
    )
    page.get_by_label("4242 4242 4242 4242").check()
    pay.click()

    page.wait_for_url(re.compile(r"/checkout/success\?session_id=cs_test_"))
    expect(page.get_by_role("heading", name="Thank you — your order is paid")).to_be_visible()
    text = screenshot(page, "05-success")
    number = re.search(r"Order (RDK-\w+)", text, re.IGNORECASE).group(1)  # shown uppercase
    assert_shows(text, f"We received $185.00. A confirmation goes to {SHOPPER}")
    assert number == _order().number

    # The worker sends the confirmation; staff read it in the Outbox.
    worker.wait_sent(CONFIRMED)
    staff_context = browser.new_context(viewport={"width": 1280, "height": 1000})
    desk = staff_context.new_page()
    sign_in(desk, base, "sam", staff.code())
    desk.get_by_role("link", name="Outbox").click()
    subject = f"Order {number} confirmed: thank you"
    expect(desk.get_by_role("link", name=subject)).to_be_visible()
    text = screenshot(desk, "06-outbox")
    row = rf"{SHOPPER}\t{re.escape(subject)}\torder_confirmed\tSENT\t"  # the badge is uppercase
    assert re.search(row, text), text

    desk.get_by_role("link", name=subject).click()
    preview = desk.frame_locator("iframe.ops-email-preview")
    expect(preview.get_by_text(number).first).to_be_visible()
    text = squeezed(screenshot(desk, "07-confirmation-email"))
    for shown in (
        re.escape(number),
        "550 White Green",
        "Jo Runner 1 Market St Apt 4 San Francisco CA 94105 United States",
        r"Total:? \$185\.00",
        re.escape(f"{base}{_order().get_absolute_url()}"),
    ):
        assert len(re.findall(shown, text)) >= 2, f"{shown!r} in the HTML and the plain text"
    assert_no_minor_units(text, 18500)

    # In the admin: mark it shipped with a tracking number, then refund $50.00.
    desk.goto(base + "/admin/orders/order/")
    desk.get_by_role("link", name=number).click()
    desk.get_by_role("link", name="Mark shipped…").click()
    desk.get_by_label("Carrier").select_option(label="UPS")
    desk.get_by_label("Tracking number").fill(TRACKING)
    text = screenshot(desk, "08-admin-mark-shipped")
    assert_shows(text, f"{number} — {SHOPPER} — Paid, not shipped yet")
    desk.get_by_role("button", name="Mark shipped").click()
    expect(desk.locator(".messagelist")).to_contain_text(f"Marked shipped: order {number}")

    desk.get_by_role("link", name="Refund…").click()
    desk.get_by_label("Amount to refund").fill("50.00")
    desk.get_by_label("Refund this amount to the shopper's card now").check()
    text = squeezed(screenshot(desk, "09-admin-refund"))
    assert_shows(text, "Captured $185.00, refunded so far $0.00; $185.00 left to refund.")
    desk.get_by_role("button", name="Refund", exact=True).click()
    expect(desk.locator(".messagelist")).to_contain_text(f"Refunded 50.00 USD on order {number}.")
    assert_shows(
        squeezed(screenshot(desk, "10-admin-order")),
        "Payment: Partially refunded",
        "Refunded: 50.00 USD",
        "Shipping: Shipped",
        f"Carrier: UPS Tracking: {TRACKING}",
        "550 White Green US 7",  # the pairs, for staff who pack them
        f"Shipped with UPS, tracking {TRACKING}",  # the timeline
        "Refunded $50.00",
    )
    staff_context.close()

    # Stripe's own refund event arrives too, and changes nothing more.
    assert control(standin, "/_standin/deliveries/flush")[1]["settled"] is True
    worker.wait_sent(SHIPPED)
    worker.wait_sent(REFUNDED)

    # The shopper's order page: the emails, tracking, the refund, still shipped.
    page.goto(base + "/account/orders")
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name=number)).to_be_visible()
    text = squeezed(screenshot(page, "11-order-page"))
    assert_shows(
        text,
        "Partially refunded Shipped",  # payment and shipping, told apart
        f"Shipped {_order().shipped_at:%b %-d, %Y} with UPS. Tracking number {TRACKING}",
        "Refunded $50.00",
        f"{subject} Sent",
        f"Order {number} has shipped Sent",
        f"Order {number}: $50.00 refunded Sent",
    )
    assert text.count(f"UTC to {SHOPPER}") == 3  # the three order emails, each sent once
    expect(page.get_by_role("link", name=TRACKING)).to_have_attribute("href", TRACKING_LINK)
    assert_no_minor_units(text, 5000, 18500)

    # One email per cause, each sent once: the welcome and the three order emails.
    assert sorted(OutboundEmail.objects.values_list("kind", "status")) == sorted(
        [("welcome", "sent"), (CONFIRMED, "sent"), (SHIPPED, "sent"), (REFUNDED, "sent")]
    )
    assert len(list(worker.mail.iterdir())) == 4
    assert page.console_errors == []
