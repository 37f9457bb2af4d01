"""The order state machine: one transition map and the one function that applies it.

    pending_payment ──▶ paid ──▶ fulfilled
          │              │  ╲        │
          ▼              ▼   ╲       ▼
      canceled   partially_refunded ──▶ refunded

Every transition writes an OrderEvent (what, when, who, request id)."""

from __future__ import annotations

import logging

from orders.exceptions import InvalidTransition
from orders.models import Order, OrderEvent, OrderStatus
from rdk.requestid import get_request_id

logger = logging.getLogger(__name__)

S = OrderStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELED}),
    S.PAID: frozenset({S.FULFILLED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.FULFILLED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED, S.FULFILLED}),
    S.CANCELED: frozenset(),
    S.REFUNDED: frozenset(),
}


def transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def order_transition(
    *, order: Order, to_status: str, actor: str, note: str = "", reference: str = ""
) -> OrderEvent:
    """Move `order` (locked by the caller with select_for_update) to `to_status`.

    Raises InvalidTransition for anything the map does not allow."""
    from_status = order.status
    if not transition_allowed(from_status, to_status):
        raise InvalidTransition(
            f"Order {order.number} is {S(from_status).label.lower()}; "
            f"it cannot become {S(to_status).label.lower()}."
        )
    order.status = to_status
    order.save(update_fields=["status", "updated_at"])
    event = OrderEvent.objects.create(
        order=order,
        from_status=from_status,
        to_status=to_status,
        actor=actor[:150],
        note=note[:300],
        reference=reference[:255],
        request_id=get_request_id() or "",
    )
    logger.info(
        "order.transition",
        extra={"order": order.number, "from": from_status, "to": to_status, "actor": actor},
    )
    return event


def order_created_event(*, order: Order, actor: str) -> OrderEvent:
    """The first event of an order: created in pending_payment."""
    return OrderEvent.objects.create(
        order=order,
        from_status="",
        to_status=order.status,
        actor=actor[:150],
        note="Order placed; stock reserved.",
        request_id=get_request_id() or "",
    )
