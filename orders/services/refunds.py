"""Refunds of paid orders: made from RDK (staff), or reported by Stripe (a refund
made in Stripe's Dashboard, or the webhook of one made here)."""

from __future__ import annotations

import logging

from django.db import transaction

from orders.exceptions import InvalidTransition, RefundTooLarge
from orders.models import PAID_STATES, Order, OrderEventKind, OrderStatus
from orders.services.lifecycle import order_record_refund
from orders.services.payments import STRIPE_ACTOR
from orders.services.states import order_lock
from payments import services as payments
from rdk.money import money_text

logger = logging.getLogger(__name__)

_REFUNDED = (OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED)


@transaction.atomic
def order_refunds_sync(*, order: Order, total_refunded: int) -> Order:
    """Stripe reports `total_refunded` on the order's payment (a charge's
    `amount_refunded`, which only grows): record what is not recorded yet. Refunds
    made from RDK were recorded, under the order's lock, before their webhook could
    arrive, so a webhook finds nothing left to record; a refund made in Stripe's
    Dashboard is recorded here. Deliveries in any order converge on the total."""
    order = order_lock(order)
    missing = min(total_refunded, order.captured_amount) - order.refunded_amount
    if missing <= 0:
        return order
    return order_record_refund(
        order=order,
        amount=missing,
        refund_reference=f"{order.payment_reference}:refunded:{total_refunded}",
        actor=STRIPE_ACTOR,
    )


@transaction.atomic
def order_refund(*, order: Order, amount: int | None, actor: str) -> Order:
    """Refund a paid order at Stripe, in full (`amount` None) or in part, never
    more than is left of what was captured; recorded on the order with the
    refund's id, so its charge.refunded webhook records nothing twice.

    The order stays locked while Stripe is called: the webhook of this refund
    waits for the record. Raises RefundTooLarge, InvalidTransition or a
    payments error (nothing recorded; retrying is safe, the refund's
    idempotency key is derived from the order and its refund count)."""
    order = order_lock(order)
    if order.status not in PAID_STATES or not order.payment_reference:
        raise InvalidTransition(
            f"Order {order.number} is {OrderStatus(order.status).label.lower()}; "
            "only a paid order can be refunded."
        )
    left = order.refundable_amount
    if amount is None:
        amount = left
    if type(amount) is not int or amount < 1:
        raise RefundTooLarge("A refund must be at least 0.01.")
    if amount > left:
        raise RefundTooLarge(
            f"Order {order.number}: at most "
            f"{money_text(left, order.currency, symbol=False)} is left to refund."
        )
    count = order.events.filter(to_status__in=_REFUNDED, kind=OrderEventKind.STATUS).count()
    refund = payments.refund_create(
        payment_intent=order.payment_reference,
        amount=amount,
        reference=f"{order.public_id}-refund-{count + 1}-{amount}",
    )
    order = order_record_refund(
        order=order, amount=refund.amount, refund_reference=refund.id, actor=actor
    )
    logger.info(
        "order.refunded", extra={"order": order.number, "amount": amount, "refund_id": refund.id}
    )
    return order
