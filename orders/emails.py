"""Every email about an order: its kind, its cause and the one function that
sends it.

Each `order_email_*` function is called inside the transaction that writes the
order event it tells about, with that event: the email's key is
`order:<event id>:<kind>`, so a replayed or duplicated Stripe event (which
writes no second event), a retried task or a second worker never sends it
twice (`rdk.emails.email_send_once`). Templates live in
`templates/emails/<kind>/`; every amount in them is already text from
`rdk.money.money_text`, never minor units.

| kind              | cause (order event)                                   |
| ----------------- | ----------------------------------------------------- |
| order_confirmed   | the order became *paid*                               |
| order_shipped     | the order became *shipped*                            |
| order_refunded    | a refund was recorded (partial or full)               |
| order_not_paid    | the payment failed or its time ran out (canceled by   |
|                   | Stripe or reservation expiry, not by a person)        |
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from orders.models import Order, OrderEvent, OrderLine
from rdk.emails import email_send_once
from rdk.models import OutboundEmail
from rdk.money import money_text
from rdk.rls import rls_service_scope

CONFIRMED = "order_confirmed"
SHIPPED = "order_shipped"
REFUNDED = "order_refunded"
NOT_PAID = "order_not_paid"

KINDS = (CONFIRMED, SHIPPED, REFUNDED, NOT_PAID)


def order_reference(order: Order) -> str:
    """What an order email is about, for the order page's list of emails."""
    return f"order:{order.public_id}"


def order_email_context(order: Order) -> dict[str, Any]:
    """What every order email shows (number, totals, address, link), as the
    email stores it; its lines are added when it is sent (`order_email_lines`)."""
    currency = order.currency
    return {
        "order_id": order.pk,
        "number": order.number,
        "subtotal": money_text(order.subtotal_amount, currency),
        "total": money_text(order.total_amount, currency),
        "shipping_address": order.shipping_address.strip(),
        "order_url": f"{settings.SITE_URL}{order.get_absolute_url()}",
    }


def order_email_lines(context: dict[str, Any]) -> dict[str, Any]:
    """The stored context of an order email with the order's lines, read when
    the email is rendered (lines never change once the order is placed): the
    request that paid the order neither reads them nor renders the bodies. The
    task reads them for the shop, under the service row-security scope."""
    with rls_service_scope():
        lines = list(
            OrderLine.objects.filter(order_id=context["order_id"])
            .order_by("id")
            .values_list(
                "product_name",
                "size_label",
                "quantity",
                "unit_amount",
                "line_amount",
                "order__currency",
            )
        )
    return {
        **context,
        "lines": [
            {
                "name": name,
                "size": size,
                "quantity": quantity,
                "unit": money_text(unit_amount, currency),
                "amount": money_text(line_amount, currency),
            }
            for name, size, quantity, unit_amount, line_amount, currency in lines
        ],
    }


def _send(*, order: Order, event: OrderEvent, kind: str, **context: Any) -> OutboundEmail:
    return email_send_once(
        key=f"order:{event.pk}:{kind}",
        kind=kind,
        to=order.email,
        context={**order_email_context(order), **context},
        reference=order_reference(order),
    )


def order_email_confirmed(*, order: Order, event: OrderEvent) -> OutboundEmail:
    """The order is paid: what was bought, what it cost, where it goes."""
    return _send(order=order, event=event, kind=CONFIRMED)


def order_email_shipped(*, order: Order, event: OrderEvent) -> OutboundEmail:
    """The pairs left: carrier, tracking number and its link, as
    `order_ship` recorded them on the order."""
    return _send(
        order=order,
        event=event,
        kind=SHIPPED,
        carrier=order.carrier_name,
        tracking_number=order.tracking_number,
        tracking_link=order.tracking_link,
    )


def order_email_refunded(*, order: Order, event: OrderEvent, amount: int) -> OutboundEmail:
    """A refund of `amount` (minor units) was recorded on the order."""
    currency = order.currency
    return _send(
        order=order,
        event=event,
        kind=REFUNDED,
        amount=money_text(amount, currency),
        refunded=money_text(order.refunded_amount, currency),
        left=money_text(order.refundable_amount, currency),
        full=order.refundable_amount == 0,
    )


def order_email_not_paid(*, order: Order, event: OrderEvent, reason: str) -> OutboundEmail:
    """The order was canceled unpaid because the payment failed or ran out of
    time; its pairs are back on sale."""
    return _send(
        order=order,
        event=event,
        kind=NOT_PAID,
        failed="fail" in reason,
        cart_url=f"{settings.SITE_URL}{reverse('orders:cart')}",
    )
