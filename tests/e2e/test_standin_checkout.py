"""The stand-in's hosted checkout page in chromium: a declined card shows a clear
message and lets the shopper try again; 4242 pays, redirects to success_url with
the session id, and the signed webhook reaches RDK's inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from payments import services
from payments.models import StripeEvent
from tests.payments.conftest import (  # noqa: F401 (fixtures)
    control,
    standin_factory,
    webhook_secrets,
)


@pytest.fixture
def checkout(live_server, standin_factory):  # noqa: F811 (the imported fixture)
    standin = standin_factory(webhook_url=live_server.url + "/api/stripe/webhook", async_delay=0.1)
    session = services.checkout_session_create(
        reference="ord_browser",
        line_items=[
            {
                "name": "New Balance 550, EU 43",
                "unit_amount": 13000,
                "currency": "eur",
                "quantity": 1,
            }
        ],
        customer_email="sam@example.com",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        success_url=live_server.url + "/?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=live_server.url + "/",
        attempt=1,
    )
    return standin, session


@pytest.mark.django_db(transaction=True)
def test_a_declined_card_then_4242_pays_and_redirects(page, live_server, checkout):
    standin, session = checkout
    page.goto(session.url)
    assert page.get_by_text("New Balance 550, EU 43").is_visible()
    assert page.get_by_role("button", name="Pay €130.00").is_visible()

    page.get_by_label("4000 0000 0000 0002").check()
    page.get_by_role("button", name="Pay €130.00").click()
    alert = page.get_by_role("alert")
    assert "Your card was declined." in alert.inner_text()
    assert page.get_by_role("link", name="Cancel and return to the shop").is_visible()

    page.get_by_label("4242 4242 4242 4242").check()
    page.get_by_role("button", name="Pay €130.00").click()
    page.wait_for_url(f"{live_server.url}/?session_id={session.id}")

    assert control(standin, "/_standin/deliveries/flush")[1]["settled"] is True
    types = set(StripeEvent.objects.values_list("type", flat=True))
    assert types == {"payment_intent.payment_failed", "checkout.session.completed"}
    completed = StripeEvent.objects.get(type="checkout.session.completed")
    assert completed.payload["data"]["object"]["client_reference_id"] == "ord_browser"
    assert page.console_errors == []


@pytest.mark.django_db(transaction=True)
def test_the_cancel_link_returns_to_the_shop(page, live_server, checkout):
    _, session = checkout
    page.goto(session.url)
    page.get_by_role("link", name="Cancel and return to the shop").click()
    page.wait_for_url(live_server.url + "/")
    assert services.checkout_session_retrieve(session.id).status == "open"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("card", "settled"),
    [
        ("async: succeeds later", "checkout.session.async_payment_succeeded"),
        ("async: fails later", "checkout.session.async_payment_failed"),
    ],
)
def test_an_async_payment_redirects_at_once_and_settles_later(
    page, live_server, checkout, card, settled
):
    standin, session = checkout
    page.goto(session.url)
    page.get_by_label(card).check()
    page.get_by_role("button", name="Pay €130.00").click()
    page.wait_for_url(f"{live_server.url}/?session_id={session.id}")

    flushed = control(standin, "/_standin/deliveries/flush", {"async": True})[1]
    assert flushed["settled"] is True
    assert StripeEvent.objects.filter(type="checkout.session.completed").exists()
    assert StripeEvent.objects.filter(type=settled).exists()
    data = services.checkout_session_retrieve(session.id)
    expected = "paid" if settled.endswith("succeeded") else "unpaid"
    assert data.payment_status == expected
