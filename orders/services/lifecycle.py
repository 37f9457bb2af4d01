"""What happens to an order after it is placed: paid, canceled, refunded
(shipping is `orders.services.shipping`).

The Stripe handlers (`orders.handlers`) call `order_mark_paid`,
`order_record_refund` and `reservation_release_for_order` (re-exported here),
under the service row-security scope; staff reach the same functions from the
admin. Every function locks the order row first, so concurrent deliveries of
the same event serialise, and each effect happens exactly once."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from orders.emails import order_email_confirmed, order_email_refunded
from orders.exceptions import InvalidTransition, PaymentMismatch, RefundTooLarge
from orders.models import PAID_STATES, Order, OrderStatus
from orders.services.reservations import (
    reservation_release_for_order,
    reservations_consume_for_order,
)
from orders.services.states import order_lock, order_transition
from rdk.audit import audit_record
from rdk.funnel import funnel_count
from rdk.models import FunnelStep
from rdk.money import money_text

logger = logging.getLogger(__name__)

__all__ = [
    "order_cancel",
    "order_mark_paid",
    "order_record_refund",
    "reservation_release_for_order",
]


def order_mark_paid(
    *, order: Order, payment_reference: str, amount: int, actor: str, locked: bool = False
) -> Order:
    """Record the payment of a pending order. Idempotent: a repeat with the same
    reference is a no-op; the reserved pairs become sold exactly once.

    `locked`: the caller read `order` under its row lock in the transaction it
    is in (`order_mark_paid_from_checkout`), and lets an error propagate out of
    it: the payment joins that transaction without a second read or a
    savepoint. Otherwise the order is locked here, in a transaction (a
    savepoint inside the caller's) of its own."""
    if not locked:
        with transaction.atomic():
            return order_mark_paid(
                order=order_lock(order),
                payment_reference=payment_reference,
                amount=amount,
                actor=actor,
                locked=True,
            )
    if order.status in PAID_STATES:
        if order.payment_reference == payment_reference:
            return order
        raise PaymentMismatch(
            f"Order {order.number} was already paid with another payment reference."
        )
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise InvalidTransition(
            f"Order {order.number} is {OrderStatus(order.status).label.lower()}; "
            "a payment for it must be refunded."
        )
    if amount != order.total_amount:
        raise PaymentMismatch(
            f"Order {order.number} totals {money_text(order.total_amount, order.currency)}, "
            f"the payment was {money_text(amount, order.currency)}."
        )
    reservations_consume_for_order(order=order)
    order.payment_reference = payment_reference[:255]
    order.captured_amount = amount
    order.paid_at = timezone.now()
    order.reserved_until = None
    event = order_transition(
        order=order,
        to_status=OrderStatus.PAID,
        actor=actor,
        reference=payment_reference,
        update_fields=("payment_reference", "captured_amount", "paid_at", "reserved_until"),
    )
    funnel_count(FunnelStep.PAID)
    order_email_confirmed(order=order, event=event)
    return order


@transaction.atomic
def order_cancel(*, order: Order, actor: str, reason: str = "canceled") -> Order:
    """Cancel an unpaid order and put its pairs back on sale. Canceling a
    canceled order is a no-op; a paid one must be refunded instead."""
    order = order_lock(order)
    if order.status == OrderStatus.CANCELED:
        return order
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise InvalidTransition(
            f"Order {order.number} is {OrderStatus(order.status).label.lower()}; "
            "only an order awaiting payment can be canceled (refund a paid one)."
        )
    reservation_release_for_order(order, reason, actor=actor)
    order.refresh_from_db()
    audit_record(
        action="order.cancel",
        actor=actor,
        target=order.number,
        before={"status": OrderStatus.PENDING_PAYMENT.value},
        after={"status": order.status},
        reason=reason,
    )
    return order


@transaction.atomic
def order_record_refund(
    *, order: Order, amount: int, refund_reference: str, actor: str = "system:payments"
) -> Order:
    """Record a refund (partial or full); never more than was captured in total.
    Idempotent per `refund_reference`."""
    order = order_lock(order)
    if order.events.filter(reference=refund_reference).exists():
        return order
    if amount <= 0:
        raise RefundTooLarge("A refund must be a positive amount.")
    if order.refunded_amount + amount > order.captured_amount:
        raise RefundTooLarge(
            f"Order {order.number}: refunding {money_text(amount, order.currency)} would "
            f"exceed the {money_text(order.refundable_amount, order.currency)} left to refund."
        )
    before = {"status": order.status, "refunded_amount": order.refunded_amount}
    order.refunded_amount += amount
    to_status = (
        OrderStatus.REFUNDED
        if order.refunded_amount == order.captured_amount
        else OrderStatus.PARTIALLY_REFUNDED
    )
    order.save(update_fields=["refunded_amount"])
    event = order_transition(
        order=order,
        to_status=to_status,
        actor=actor,
        note=f"Refunded {money_text(amount, order.currency)}",
        reference=refund_reference,
    )
    audit_record(
        action="order.refund",
        actor=actor,
        target=order.number,
        amount=money_text(amount, order.currency),
        reference=refund_reference,
        before=before,
        after={"status": order.status, "refunded_amount": order.refunded_amount},
    )
    order_email_refunded(order=order, event=event, amount=amount)
    return order
