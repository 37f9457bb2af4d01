"""RDK's services through the real Stripe SDK against the stand-in on a free port."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from payments import gateway, services
from payments.exceptions import (
    CheckoutInvalid,
    StripeMisconfigured,
    StripeRejected,
    StripeUnavailable,
)
from tests.payments.conftest import control, stripe_session

ITEMS = [
    {"name": "Air Jordan 1 High, EU 42", "unit_amount": 18999, "currency": "eur", "quantity": 1},
    {"name": "Crep Protect spray", "unit_amount": 1250, "currency": "eur", "quantity": 2},
]


def create(reference: str = "ord_01J", attempt: int = 1, **overrides):
    arguments = {
        "reference": reference,
        "line_items": ITEMS,
        "customer_email": "sam@example.com",
        "expires_at": datetime.now(UTC) + timedelta(minutes=45),
        "success_url": "http://127.0.0.1:8103/checkout/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:8103/cart",
        "attempt": attempt,
        **overrides,
    }
    return services.checkout_session_create(**arguments)


def test_a_checkout_session_carries_the_order_reference_amounts_and_expiry(standin):
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=40)
    session = create(expires_at=expires_at)
    assert session.id.startswith("cs_test_")
    assert session.url == f"{standin.url}/c/pay/{session.id}"
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert (session.amount_total, session.currency) == (18999 + 2 * 1250, "eur")
    assert session.expires_at == expires_at
    assert session.client_reference_id == "ord_01J"

    data = stripe_session(session.id)
    assert data["mode"] == "payment"
    assert data["metadata"] == {"order_id": "ord_01J"}
    assert data["customer_email"] == "sam@example.com"
    items = data["line_items"]["data"]
    assert [(i["description"], i["quantity"], i["price"]["unit_amount"]) for i in items] == [
        ("Air Jordan 1 High, EU 42", 1, 18999),
        ("Crep Protect spray", 2, 1250),
    ]
    assert data["payment_intent"] is None  # created when the shopper pays


def test_the_same_reference_and_attempt_return_the_same_session(standin):
    first = create()
    again = create()
    assert again.id == first.id
    assert create(attempt=2).id != first.id


def test_one_idempotency_key_with_other_parameters_is_refused(standin):
    create()
    with pytest.raises(StripeRejected, match="same parameters"):
        create(line_items=[{**ITEMS[0], "unit_amount": 1}])


def test_retrieve_expands_the_payment_intent_with_the_order_metadata(standin):
    session = create()
    status, body = control(
        standin, f"/_standin/sessions/{session.id}/complete", {"deliver": "hold"}
    )
    assert status == 200
    assert [e["type"] for e in body["events"]] == ["checkout.session.completed"]
    data = stripe_session(session.id)
    assert (data["status"], data["payment_status"]) == ("complete", "paid")
    intent = data["payment_intent"]
    assert intent["status"] == "succeeded"
    assert intent["amount_received"] == session.amount_total
    assert intent["metadata"] == {"order_id": "ord_01J"}
    charge = gateway.client().v1.charges.retrieve(intent["latest_charge"])
    assert (charge.amount_captured, charge.amount_refunded) == (session.amount_total, 0)


def test_an_open_session_can_be_expired_once(standin):
    session = create()
    expired = services.checkout_session_expire(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    with pytest.raises(StripeRejected):
        services.checkout_session_expire(session.id)
    events = gateway.client().v1.events.list(params={"type": "checkout.session.expired"})
    assert [e.data.object.id for e in events.data] == [session.id]


def test_refunds_are_partial_or_full_and_never_exceed_the_capture(standin):
    session = create()
    control(standin, f"/_standin/sessions/{session.id}/complete", {"deliver": "hold"})
    intent = stripe_session(session.id)["payment_intent"]["id"]
    total = session.amount_total

    partial = services.refund_create(payment_intent=intent, amount=1250, reference="ord_01J-r1")
    assert (partial.amount, partial.status, partial.payment_intent) == (1250, "succeeded", intent)
    again = services.refund_create(payment_intent=intent, amount=1250, reference="ord_01J-r1")
    assert again.id == partial.id  # a retried refund is the same refund
    with pytest.raises(StripeRejected, match="greater than unrefunded amount"):
        services.refund_create(payment_intent=intent, amount=total, reference="ord_01J-r2")
    services.refund_create(payment_intent=intent, amount=total - 1250, reference="ord_01J-r3")
    charge_id = gateway.client().v1.payment_intents.retrieve(intent).latest_charge
    charge = gateway.client().v1.charges.retrieve(str(charge_id))  # an id: not expanded
    assert (charge.amount_refunded, charge.refunded) == (total, True)
    refunded = gateway.client().v1.events.list(params={"type": "charge.refunded"}).data
    assert [e.data.object.amount_refunded for e in refunded] == [total, 1250]


def test_a_payment_without_a_charge_cannot_be_refunded(standin):
    session = create()
    control(standin, f"/_standin/sessions/{session.id}/fail", {"deliver": "hold"})
    intent = stripe_session(session.id)["payment_intent"]
    assert intent["last_payment_error"]["code"] == "card_declined"
    with pytest.raises(StripeRejected, match="does not have a successful charge"):
        services.refund_create(payment_intent=intent["id"], amount=100, reference="x-r1")


def test_paid_sessions_are_listed_since_a_time(standin):
    paid = create(reference="ord_paid")
    create(reference="ord_open")
    control(standin, f"/_standin/sessions/{paid.id}/complete", {"deliver": "hold"})
    since = datetime.now(UTC) - timedelta(minutes=5)
    listed = list(services.checkout_sessions_paid_since(since=since))
    assert [s.client_reference_id for s in listed] == ["ord_paid"]
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert list(services.checkout_sessions_paid_since(since=later)) == []


def test_listing_pages_through_every_session(standin):
    created = {create(reference=f"ord_{n}").id for n in range(12)}
    for session_id in created:
        control(standin, f"/_standin/sessions/{session_id}/complete", {"deliver": "hold"})
    since = datetime.now(UTC) - timedelta(minutes=5)
    assert {s.id for s in services.checkout_sessions_paid_since(since=since)} == created


def test_a_wrong_key_is_a_configuration_error(standin, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_not_the_standin"
    with pytest.raises(StripeMisconfigured):
        create()


def test_an_unreachable_stripe_is_reported_as_unavailable(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"
    with pytest.raises(StripeUnavailable, match="try again"):
        create()


def test_an_unknown_session_is_rejected(standin):
    with pytest.raises(StripeRejected):
        services.checkout_session_retrieve("cs_test_nope")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"line_items": []}, "at least one"),
        ({"line_items": [{"name": "x"}]}, "needs name"),
        ({"line_items": [{**ITEMS[0], "unit_amount": 10.5}]}, "minor units"),
        ({"line_items": [{**ITEMS[0], "quantity": 0}]}, "quantity"),
        ({"line_items": [{**ITEMS[0], "currency": "euro"}]}, "3-letter"),
        ({"line_items": [ITEMS[0], {**ITEMS[1], "currency": "usd"}]}, "one currency"),
        ({"attempt": 0}, "attempt"),
        ({"reference": ""}, "reference"),
        ({"expires_at": datetime(2030, 1, 1)}, "timezone-aware"),  # noqa: DTZ001
    ],
)
def test_bad_checkout_input_is_refused_before_calling_stripe(overrides, message):
    with pytest.raises(CheckoutInvalid, match=message):
        create(**overrides)


def test_an_expiry_stripe_would_refuse_is_rejected(standin):
    with pytest.raises(StripeRejected, match="30 minutes and 24 hours"):
        create(expires_at=datetime.now(UTC) + timedelta(minutes=5))
