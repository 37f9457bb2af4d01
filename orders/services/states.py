"""The order state machine: one transition map and the one function that applies it.

    pending_payment ──▶ paid ──▶ shipped
          │              │  ╲        │
          ▼              ▼   ╲       ▼
      canceled   partially_refunded ──▶ refunded

*Paid* means Stripe took the money; *shipped* means staff sent the pairs.

Every transition writes an OrderEvent (what, when, who, request id) through
`order_event_write`, the one writer of order events; `order_lock` (or, from a
public id, `order_lock_by_public_id`) is the one way a service takes the
order's row lock."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from orders.exceptions import InvalidTransition
from orders.models import Order, OrderEvent, OrderEventKind, OrderStatus
from rdk.requestid import get_request_id

logger = logging.getLogger(__name__)

S = OrderStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELED}),
    S.PAID: frozenset({S.SHIPPED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED, S.SHIPPED}),
    S.CANCELED: frozenset(),
    S.REFUNDED: frozenset(),
}


def order_lock(order: Order) -> Order:
    """The order re-read under its row lock (inside the caller's transaction):
    concurrent writers of one order serialise here."""
    return Order.objects.select_for_update().get(pk=order.pk)


def order_lock_by_public_id(public_id: uuid.UUID) -> Order | None:
    """The order with this public id read under its row lock, in one query
    (a lookup followed by `order_lock` is two), or None when there is none."""
    return Order.objects.select_for_update().filter(public_id=public_id).first()


def order_event_write(
    *,
    order: Order,
    actor: str,
    from_status: str | None = None,
    kind: str = OrderEventKind.STATUS,
    note: str = "",
    reference: str = "",
) -> OrderEvent:
    """THE writer of order events: a status change (kind `status`), or something
    that happened without changing the status (`from_status` defaults to the
    current one)."""
    return OrderEvent.objects.create(
        order=order,
        kind=kind,
        from_status=order.status if from_status is None else from_status,
        to_status=order.status,
        actor=actor[:150],
        note=note[:300],
        reference=reference[:255],
        request_id=get_request_id() or "",
    )


def transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def order_transition(
    *,
    order: Order,
    to_status: str,
    actor: str,
    note: str = "",
    reference: str = "",
    update_fields: Iterable[str] = (),
) -> OrderEvent:
    """Move `order` (locked by the caller with select_for_update) to `to_status`.
    `update_fields`: other fields the caller changed on `order` with this
    transition, written by the same UPDATE.

    Raises InvalidTransition for anything the map does not allow."""
    from_status = order.status
    if not transition_allowed(from_status, to_status):
        raise InvalidTransition(
            f"Order {order.number} is {S(from_status).label.lower()}; "
            f"it cannot become {S(to_status).label.lower()}."
        )
    order.status = to_status
    order.save(update_fields=["status", "updated_at", *update_fields])
    event = order_event_write(
        order=order, from_status=from_status, actor=actor, note=note, reference=reference
    )
    logger.info(
        "order.transition",
        extra={"order": order.number, "from": from_status, "to": to_status, "actor": actor},
    )
    return event


def order_created_event(*, order: Order, actor: str) -> OrderEvent:
    """The first event of an order: created in pending_payment."""
    return order_event_write(
        order=order, from_status="", actor=actor, note="Order placed; stock reserved."
    )
