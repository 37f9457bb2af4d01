"""Orders and Stripe through the local stand-in: the steps the checkout, handler
and refund tests share. Events are the stand-in's own (Stripe-shaped), posted to
the real webhook endpoint, signed."""

from __future__ import annotations

import copy
import uuid

from django.utils import timezone

from catalog.models import Variant
from orders.models import Order, OrderStatus
from orders.services.checkout import payment_handover
from orders.services.refunds import order_refund
from rdk.rls import rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import UserFactory, order_for
from tests.payments.conftest import control, post_webhook

ORIGIN = {"HTTP_ORIGIN": "http://testserver"}


def placed_order(*, stock: int = 3, quantity: int = 1, price: int = 12000):
    user = UserFactory()
    variant = VariantFactory(stock_on_hand=stock, price_override_amount=price)
    return user, variant, order_for(user, variant, quantity)


def load(order: Order) -> Order:
    with rls_service_scope():
        return Order.objects.get(pk=order.pk)


def stock_of(variant) -> tuple[int, int]:
    v = Variant.objects.get(pk=variant.pk)
    return v.stock_on_hand, v.stock_reserved


def handover(order: Order) -> str:
    url = payment_handover(order)
    return load(order).checkout_session_id or url


def pay_at_standin(standin, session_id: str, outcome: str = "succeeds") -> None:
    status, body = control(
        standin,
        f"/_standin/sessions/{session_id}/complete",
        {"outcome": outcome, "deliver": "hold"},
    )
    assert status == 200, body


def standin_events(standin, event_type: str) -> list[dict]:
    return [copy.deepcopy(e) for e in standin.store.events if e["type"] == event_type]


def deliver(client, event: dict) -> int:
    return post_webhook(client, event).status_code


def event_kinds(order: Order) -> list[str]:
    with rls_service_scope():
        return list(Order.objects.get(pk=order.pk).events.values_list("kind", flat=True))


def paid_event_count(order: Order) -> int:
    with rls_service_scope():
        return Order.objects.get(pk=order.pk).events.filter(to_status=OrderStatus.PAID).count()


def refund(order: Order, amount: int | None) -> Order:
    with rls_service_scope():
        return order_refund(order=order, amount=amount, actor="staff:1")


def paid_order(client, standin, **kwargs):
    user, variant, order = placed_order(**kwargs)
    session_id = handover(order)
    pay_at_standin(standin, session_id)
    # The latest completion: a test may pay for several orders.
    assert deliver(client, standin_events(standin, "checkout.session.completed")[-1]) == 200
    return user, variant, load(order)


def order_intent(event: dict) -> str:
    return event["data"]["object"]["payment_intent"]


def dispute_event(order_intent_id: str, charge_id: str, amount: int) -> dict:
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(timezone.now().timestamp()),
        "livemode": False,
        "type": "charge.dispute.created",
        "data": {
            "object": {
                "id": f"dp_{uuid.uuid4().hex[:24]}",
                "object": "dispute",
                "amount": amount,
                "charge": charge_id,
                "currency": "usd",
                "payment_intent": order_intent_id,
                "reason": "fraudulent",
                "status": "needs_response",
                "metadata": {},
            }
        },
    }
