"""Shipping a paid order, and correcting its tracking number afterwards.

Shipping is recorded beside the payment state (`Order.shipped_at`, `carrier`,
`tracking_number`): the status moves to *shipped*, and a later partial refund
changes the status but not the fact that the pairs were sent."""

from __future__ import annotations

import logging

from django.db import transaction

from orders.carriers import carrier_get, tracking_number_clean
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderEvent, OrderEventKind, OrderStatus
from orders.services.states import order_event_write, order_lock, order_transition
from rdk.audit import audit_record

logger = logging.getLogger(__name__)


@transaction.atomic
def order_ship(*, order: Order, carrier: str, tracking_number: str, actor: str) -> Order:
    """Staff sent the pairs of a paid order with `carrier` under `tracking_number`
    (validated for that carrier). Raises ShippingInvalid or InvalidTransition."""
    chosen = carrier_get(carrier)
    number = tracking_number_clean(carrier=chosen, number=tracking_number)
    order = order_lock(order)
    if order.shipped_at:
        raise InvalidTransition(
            f"Order {order.number} was already shipped; correct its tracking number instead."
        )
    event = order_transition(
        order=order,
        to_status=OrderStatus.SHIPPED,
        actor=actor,
        note=f"Shipped with {chosen.name}, tracking {number}",
        reference=number,
    )
    order.shipped_at = event.created_at
    order.carrier, order.tracking_number = chosen.code, number
    order.save(update_fields=["shipped_at", "carrier", "tracking_number", "updated_at"])
    audit_record(
        action="order.ship",
        actor=actor,
        target=order.number,
        after={"carrier": chosen.code, "tracking_number": number},
    )
    order_shipped_email_enqueue(order=order, event=event)
    return order


@transaction.atomic
def order_tracking_correct(
    *, order: Order, carrier: str, tracking_number: str, actor: str
) -> Order:
    """Correct the carrier or tracking number of a shipped order: recorded on
    the order's timeline and in the audit log with the values before and after."""
    chosen = carrier_get(carrier)
    number = tracking_number_clean(carrier=chosen, number=tracking_number)
    order = order_lock(order)
    if not order.shipped_at:
        raise InvalidTransition(f"Order {order.number} has not been shipped yet.")
    before = {"carrier": order.carrier, "tracking_number": order.tracking_number}
    after = {"carrier": chosen.code, "tracking_number": number}
    if before == after:
        return order
    order.carrier, order.tracking_number = chosen.code, number
    order.save(update_fields=["carrier", "tracking_number", "updated_at"])
    order_event_write(
        order=order,
        kind=OrderEventKind.TRACKING,
        actor=actor,
        note=f"Tracking is now {chosen.name} {number} (was {before['tracking_number']})",
        reference=number,
    )
    audit_record(
        action="order.tracking_correct",
        actor=actor,
        target=order.number,
        before=before,
        after=after,
    )
    logger.info("order.tracking_corrected", extra={"order": order.number, "actor": actor})
    return order


def order_shipped_email_enqueue(*, order: Order, event: OrderEvent) -> None:
    """THE call site of the "your pairs shipped" email (carrier, number, link).

    The email outbox is being built on the `tasks` branch (django.tasks +
    `email_send_once`); when it lands, this calls
    `email_send_once(kind="order_shipped", order=order, cause=event)` inside this
    transaction, keyed by the event so a retry never sends it twice. Until then
    it only logs that the email is due."""
    logger.info(
        "order.shipped_email_due",
        extra={"order": order.number, "event": event.pk, "carrier": order.carrier},
    )
