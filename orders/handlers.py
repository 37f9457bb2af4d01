"""What orders does with each Stripe event: the one event-handler module.

`payments` verifies, stores and dispatches each event, and hands the handler
registered for its type (`handlers_register`, from OrdersConfig.ready) a
`WebhookEvent` whose object is already typed (`CheckoutSessionResult`,
`PaymentIntentSummary`, `ChargeSummary`, `DisputeSummary`): nothing here reads
Stripe's dicts.

Handlers run inside the webhook inbox's transaction (an error rolls back all
they wrote), under the service row-security scope opened by payments, and
must be idempotent: a replay runs them again. An order only moves forward; an
event that needs a state the order has not reached (a refund or dispute before
the payment is recorded) first asks Stripe for the order's session and marks it
paid, and raises when Stripe still says unpaid, so the event is retried.

Expiry of an asynchronous payment (bank debit): its pairs stay reserved
`ASYNC_PAYMENT_HOLD` while it settles."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from orders.exceptions import InvalidTransition
from orders.models import Order, OrderEventKind, OrderStatus, Reservation, ReservationStatus
from orders.services.lifecycle import reservation_release_for_order
from orders.services.payments import (
    STRIPE_ACTOR,
    checkout_payment_record,
    order_for_payment,
    order_for_reference,
    order_mark_paid_from_checkout,
    order_payment_recorded,
)
from orders.services.refunds import order_refunds_sync
from orders.services.states import order_event_write, order_lock
from payments import registry
from payments import services as payments
from payments.events import (
    ChargeSummary,
    CheckoutSessionResult,
    DisputeSummary,
    PaymentIntentSummary,
    WebhookEvent,
)
from payments.exceptions import StripePayloadInvalid
from rdk.money import money_text

logger = logging.getLogger(__name__)

# An asynchronous payment (bank debit) keeps its pairs reserved while it settles.
ASYNC_PAYMENT_HOLD = dt.timedelta(days=7)


class PaymentNotRecorded(InvalidTransition):
    """An event needs a paid order, and Stripe does not report the payment yet:
    raised so that the webhook event fails and is delivered again."""

    code = "payment_not_recorded"


def _object[T](event: WebhookEvent, kind: type[T]) -> T:
    if not isinstance(event.object, kind):
        raise StripePayloadInvalid(f"A {event.type} event does not carry a {kind.__name__}.")
    return event.object


def _pending_order_for(session: CheckoutSessionResult) -> Order | None:
    """The locked order of a session while it awaits payment from that session
    (not from a newer attempt), else None: an order only moves forward."""
    order = order_for_reference(session.reference)
    if order is None:
        return None
    order = order_lock(order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        return None
    if order.checkout_session_id and order.checkout_session_id != session.id:
        return None  # another attempt's session; the current one decides
    return order


def checkout_session_completed(event: WebhookEvent) -> None:
    session = _object(event, CheckoutSessionResult)
    if session.is_paid:
        order_mark_paid_from_checkout(session=session, actor=STRIPE_ACTOR)
        return
    # Paid asynchronously (a bank debit): keep the pairs while it settles.
    order = order_for_reference(session.reference)
    if order is None:
        return
    order = order_lock(order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        return
    if order.events.filter(kind=OrderEventKind.PAYMENT_PROCESSING, reference=session.id):
        return
    hold = timezone.now() + ASYNC_PAYMENT_HOLD
    order.reserved_until = hold
    order.save(update_fields=["reserved_until", "updated_at"])
    Reservation.objects.filter(order=order, status=ReservationStatus.ACTIVE).update(expires_at=hold)
    order_event_write(
        order=order,
        kind=OrderEventKind.PAYMENT_PROCESSING,
        actor=STRIPE_ACTOR,
        note="Payment submitted; waiting for the bank to confirm it.",
        reference=session.id,
    )


def checkout_session_async_payment_succeeded(event: WebhookEvent) -> None:
    order_mark_paid_from_checkout(session=_object(event, CheckoutSessionResult), actor=STRIPE_ACTOR)


def checkout_session_async_payment_failed(event: WebhookEvent) -> None:
    order = _pending_order_for(_object(event, CheckoutSessionResult))
    if order is not None:
        reservation_release_for_order(order, "payment failed", actor=STRIPE_ACTOR)


def checkout_session_expired(event: WebhookEvent) -> None:
    order = _pending_order_for(_object(event, CheckoutSessionResult))
    if order is not None:
        reservation_release_for_order(order, "checkout session expired", actor=STRIPE_ACTOR)


def payment_intent_payment_failed(event: WebhookEvent) -> None:
    intent = _object(event, PaymentIntentSummary)
    order = order_for_payment(payment_intent=None, reference=intent.reference)
    if order is None:
        return
    order = order_lock(order)
    if order.events.filter(kind=OrderEventKind.PAYMENT_FAILED, reference=event.stripe_id):
        return
    order_event_write(
        order=order,
        kind=OrderEventKind.PAYMENT_FAILED,
        actor=STRIPE_ACTOR,
        note=f"Payment attempt failed: {intent.failure_message or 'The payment failed.'}",
        reference=event.stripe_id,
    )


def _paid_order_for(obj: ChargeSummary | DisputeSummary, *, what: str) -> Order | None:
    """The locked order a charge or dispute belongs to, with its payment recorded
    first (fetched from Stripe when this event overtook the payment's). Raises
    while Stripe still reports it unpaid, so that the event is retried."""
    order = order_for_payment(payment_intent=obj.payment_intent, reference=obj.reference)
    if order is None:
        logger.warning("payment.%s_unknown_order", what, extra={what: obj.id})
        return None
    order = order_lock(order)
    if order.status == OrderStatus.PENDING_PAYMENT and order.checkout_session_id:
        session = payments.checkout_session_retrieve(order.checkout_session_id)
        order_mark_paid_from_checkout(session=session, actor=STRIPE_ACTOR)
        order.refresh_from_db()
    if order.status == OrderStatus.PENDING_PAYMENT:
        raise PaymentNotRecorded(
            f"Order {order.number}: a {what} arrived before its payment; retried later."
        )
    return order


def charge_refunded(event: WebhookEvent) -> None:
    charge = _object(event, ChargeSummary)
    order = _paid_order_for(charge, what="refund")
    if order is None:
        return
    if order.payment_reference != charge.payment_intent:
        return  # the refund of a late or duplicate payment, recorded when it was made
    order_refunds_sync(order=order, total_refunded=charge.amount_refunded)


def charge_dispute_created(event: WebhookEvent) -> None:
    dispute = _object(event, DisputeSummary)
    order = _paid_order_for(dispute, what="dispute")
    if order is None:
        return
    if order.dispute_reference == dispute.id:
        return
    order.disputed_at = timezone.now()
    order.dispute_reference = dispute.id[:255]
    order.save(update_fields=["disputed_at", "dispute_reference", "updated_at"])
    amount = (
        f" for {money_text(dispute.amount, order.currency, symbol=False)}"
        if dispute.amount is not None
        else ""
    )
    order_event_write(
        order=order,
        kind=OrderEventKind.DISPUTE,
        actor=STRIPE_ACTOR,
        note=(
            f"Dispute opened ({dispute.reason or 'no reason given'}){amount}: "
            "answer it in Stripe's Dashboard."
        ),
        reference=order.dispute_reference,
    )
    logger.warning("payment.dispute_opened", extra={"order": order.number})


HANDLERS = {
    "checkout.session.completed": checkout_session_completed,
    "checkout.session.async_payment_succeeded": checkout_session_async_payment_succeeded,
    "checkout.session.async_payment_failed": checkout_session_async_payment_failed,
    "checkout.session.expired": checkout_session_expired,
    "payment_intent.payment_failed": payment_intent_payment_failed,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": charge_dispute_created,
}


def handlers_register() -> None:
    """Called from OrdersConfig.ready(): the Stripe events orders acts on, and the
    payment check and recorder `stripe_reconcile` uses."""
    for event_type, handler in HANDLERS.items():
        registry.register(event_type, handler)
    registry.register_paid_check(order_payment_recorded)
    registry.register_payment_recorder(checkout_payment_record)
