"""Recording the payment of an order from its Checkout Session.

`order_mark_paid_from_checkout(session=…)` is THE function that marks an order
paid from a Checkout Session (a typed `CheckoutSessionResult`, never Stripe's
dict); the webhook handlers (`orders.handlers`), the success page and
`stripe_reconcile --apply` all call it. It locks the order: exactly one caller
moves it to paid and sells its reserved pairs; the others find it paid with the
same payment and do nothing. A payment for an order that can no longer take it
(canceled, or already paid with another payment) is refunded automatically and
recorded on the order.

Every function here runs under the caller's row-security scope: the service
scope for webhooks and reconcile, the shopper's for the success page."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction

from orders.exceptions import PaymentMismatch
from orders.models import PAID_STATES, Order, OrderEventKind, OrderStatus
from orders.services.lifecycle import order_mark_paid
from orders.services.states import order_event_write, order_lock_by_public_id
from payments import services as payments
from payments.events import CheckoutSessionResult
from rdk.money import money_text
from rdk.rls import rls_service_scope

logger = logging.getLogger(__name__)

STRIPE_ACTOR = "system:stripe"


def order_for_reference(reference: str | None, *, lock: bool = False) -> Order | None:
    """The order a Stripe object names by its public id, or None. `lock`: read
    it under its row lock, in the same query."""
    try:
        key = uuid.UUID(str(reference))
    except ValueError:
        return None
    if lock:
        return order_lock_by_public_id(key)
    return Order.objects.filter(public_id=key).first()


def order_for_payment(*, payment_intent: str | None, reference: str | None) -> Order | None:
    """The order a charge, dispute or payment intent belongs to: by its payment
    intent (the payment recorded on the order, else the reference Stripe holds on
    the intent), and only without one by the reference in its metadata, which
    names an order but proves nothing about which payment is disputed."""
    if not payment_intent:
        return order_for_reference(reference)
    order = Order.objects.filter(payment_reference=payment_intent).first()
    if order is None:
        intent = payments.payment_intent_retrieve(payment_intent)
        order = order_for_reference(intent.reference)
    return order


# Without a savepoint: every caller lets an error propagate out of its own
# transaction (the webhook inbox's, a row-security scope), which undoes the
# whole attempt; a savepoint here would cost two round trips more.
@transaction.atomic(savepoint=False)
def order_mark_paid_from_checkout(*, session: CheckoutSessionResult, actor: str) -> Order | None:
    """Mark the order of a Checkout Session paid.

    Unpaid: nothing happens. Paid and the order awaits payment: the order becomes
    paid and its reserved pairs sold, exactly once. Paid again with the same
    payment: nothing happens. Paid for an order that cannot take it (canceled,
    e.g. expired, or already paid with another payment): the payment is refunded
    in full and recorded on the order. Returns the order, or None when the
    session names no order of this shop.

    A paid session's order is found and locked in one query, and marked paid
    under that lock (`order_mark_paid(locked=True)`)."""
    order = order_for_reference(session.reference, lock=session.is_paid)
    if order is None:
        logger.warning(
            "payment.unknown_reference", extra={"session_id": session.id, "ref": session.reference}
        )
        return None
    if not session.is_paid:
        return order
    intent, amount = session.payment_intent, session.amount_total
    if not intent or amount is None:
        raise PaymentMismatch(f"Session {session.id} is paid but has no payment amount.")
    if order.status in PAID_STATES and order.payment_reference == intent:
        return order
    if order.status == OrderStatus.PENDING_PAYMENT:
        if session.livemode is None or session.livemode != payments.stripe_livemode():
            raise PaymentMismatch(
                f"Session {session.id} is in Stripe's {_mode(session.livemode)} mode, "
                f"the shop's key in {_mode(payments.stripe_livemode())} mode: not marked paid."
            )
        # An empty id: the hand-over crashed after Stripe answered, so the order
        # never learnt its session; the session's reference names this order.
        if order.checkout_session_id and session.id != order.checkout_session_id:
            raise PaymentMismatch(
                f"Session {session.id} is not order {order.number}'s checkout session: "
                "not marked paid."
            )
        if (session.currency or "").lower() != order.currency.lower():
            raise PaymentMismatch(
                f"Order {order.number} is in {order.currency}, the payment in {session.currency}."
            )
        order = order_mark_paid(
            order=order, payment_reference=intent, amount=amount, actor=actor, locked=True
        )
        logger.info("payment.marked_paid", extra={"order": order.number, "actor": actor})
        return order
    return _late_payment_refund(order=order, intent=intent, amount=amount)


def _mode(livemode: bool | None) -> str:
    return {True: "live", False: "test", None: "unknown"}[livemode]


def _late_payment_refund(*, order: Order, intent: str, amount: int) -> Order:
    if order.events.filter(kind=OrderEventKind.LATE_PAYMENT, reference=intent).exists():
        return order
    refund_reference = f"{order.public_id}-late-{intent}"
    refund = payments.refund_create(
        payment_intent=intent, amount=amount, reference=refund_reference
    )
    status = OrderStatus(order.status).label.lower()
    order_event_write(
        order=order,
        kind=OrderEventKind.LATE_PAYMENT,
        actor=STRIPE_ACTOR,
        note=(
            f"Payment {intent} of {money_text(amount, order.currency, symbol=False)} "
            "arrived for an order "
            f"already {status}; refunded in full automatically ({refund.id})."
        ),
        reference=intent,
    )
    logger.warning(
        "payment.late_payment_refunded",
        extra={"order": order.number, "status": order.status, "refund_id": refund.id},
    )
    return order


def order_payment_recorded(reference: str) -> bool:
    """For stripe_reconcile: has the payment of the order with this reference been
    handled (the order paid, or a late payment refunded)?"""
    with rls_service_scope():
        order = order_for_reference(reference)
        if order is None:
            return False
        if order.status in PAID_STATES:
            return True
        return order.events.filter(kind=OrderEventKind.LATE_PAYMENT).exists()


def checkout_payment_record(session: CheckoutSessionResult) -> bool:
    """stripe_reconcile --apply: mark paid, then say whether the reference is paid."""
    order = order_mark_paid_from_checkout(session=session, actor="system:reconcile")
    return order is not None and order_payment_recorded(str(order.public_id))
