"""The typed values payments hands to handlers: every Stripe dict is read in
payments.events, and a payload lacking what its type needs is a clear domain
error; through the inbox, the event is marked failed with that error (never a
500), nothing is written, and a fixed handler or payload can be replayed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payments import registry
from payments.events import (
    ChargeSummary,
    CheckoutSessionResult,
    DisputeSummary,
    PaymentIntentSummary,
    StripeObjectSummary,
    WebhookEvent,
    event_object_parse,
)
from payments.exceptions import StripePayloadInvalid
from payments.models import StripeEvent
from tests.payments.conftest import make_event, post_webhook


def _payload(obj) -> dict:
    return {"id": "evt_1", "type": "x", "data": {"object": obj}}


def test_a_checkout_session_is_typed_whether_or_not_its_intent_is_expanded():
    session = {
        "id": "cs_1",
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": 12000,
        "currency": "usd",
        "payment_intent": {"id": "pi_1", "status": "succeeded"},
        "client_reference_id": None,
        "metadata": {"order_id": "ord_1"},
        "created": 1_800_000_000,
    }
    parsed = event_object_parse(event_type="checkout.session.completed", payload=_payload(session))
    assert parsed == CheckoutSessionResult(
        id="cs_1",
        url=None,
        status="complete",
        payment_status="paid",
        amount_total=12000,
        currency="usd",
        expires_at=None,
        payment_intent="pi_1",
        client_reference_id=None,
        reference="ord_1",
        created=datetime.fromtimestamp(1_800_000_000, tz=UTC),
    )
    assert parsed.is_paid
    assert not parsed.is_open


def test_charges_disputes_and_intents_are_typed_by_their_object_or_event_type():
    charge = {"id": "ch_1", "payment_intent": "pi_1", "amount_refunded": 500, "metadata": {}}
    assert event_object_parse(event_type="charge.refunded", payload=_payload(charge)) == (
        ChargeSummary(id="ch_1", payment_intent="pi_1", reference=None, amount_refunded=500)
    )
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": "pi_1", "amount": 900}
    assert event_object_parse(event_type="charge.dispute.created", payload=_payload(dispute)) == (
        DisputeSummary(id="dp_1", payment_intent="pi_1", reference=None, amount=900, reason="")
    )
    intent = {
        "id": "pi_1",
        "object": "payment_intent",
        "metadata": {"order_id": "ord_1"},
        "last_payment_error": {"message": "Your card was declined."},
    }
    assert event_object_parse(
        event_type="payment_intent.payment_failed", payload=_payload(intent)
    ) == PaymentIntentSummary(
        id="pi_1", reference="ord_1", failure_message="Your card was declined."
    )
    other = {"id": "in_1", "object": "invoice"}
    assert event_object_parse(event_type="invoice.paid", payload=_payload(other)) == (
        StripeObjectSummary(id="in_1", reference=None)
    )


@pytest.mark.parametrize(
    ("event_type", "payload", "message"),
    [
        ("charge.refunded", "not json", "payload is not an object"),
        ("charge.refunded", {"data": {}}, "has no data.object"),
        (
            "charge.refunded",
            _payload({"payment_intent": "pi_1"}),
            "charge in this payload has no id",
        ),
        (
            "charge.refunded",
            _payload({"id": "ch_1", "amount_refunded": "lots"}),
            "charge's amount_refunded is not a whole number",
        ),
        (
            "checkout.session.completed",
            _payload({"id": "cs_1", "payment_intent": 42}),
            "Checkout Session's payment_intent is not an id",
        ),
        (
            "checkout.session.completed",
            _payload({"id": "cs_1", "metadata": ["order"]}),
            "Checkout Session's metadata is not an object",
        ),
        (
            "charge.dispute.created",
            _payload({"id": "dp_1", "amount": 9.5}),
            "dispute's amount is not a whole number",
        ),
    ],
)
def test_a_malformed_object_is_a_clear_domain_error(event_type, payload, message):
    with pytest.raises(StripePayloadInvalid, match=message):
        event_object_parse(event_type=event_type, payload=payload)


@pytest.mark.django_db
def test_a_malformed_event_is_marked_failed_with_its_error_never_a_500(client):
    seen: list[WebhookEvent] = []
    registry.unregister("charge.refunded")
    registry.register("charge.refunded", seen.append)  # restored after the test (conftest)
    event = make_event("charge.refunded", object="charge", amount_refunded="lots")
    response = post_webhook(client, event)
    assert response.status_code == 200
    assert response.json()["status"] == "failed"
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.status == StripeEvent.Status.FAILED
    assert stored.last_error == (
        "StripePayloadInvalid: The charge's amount_refunded is not a whole number."
    )
    assert seen == []  # the handler never saw a half-read event


@pytest.mark.django_db
def test_a_handler_receives_the_typed_event(client):
    seen: list[WebhookEvent] = []
    registry.unregister("charge.refunded")
    registry.register("charge.refunded", seen.append)  # restored after the test (conftest)
    event = make_event(
        "charge.refunded",
        object="charge",
        id="ch_9",
        payment_intent={"id": "pi_9"},
        amount_refunded=700,
        metadata={"order_id": "ord_9"},
    )
    assert post_webhook(client, event).json()["status"] == "processed"
    assert seen == [
        WebhookEvent(
            stripe_id=event["id"],
            type="charge.refunded",
            object=ChargeSummary(
                id="ch_9", payment_intent="pi_9", reference="ord_9", amount_refunded=700
            ),
        )
    ]
