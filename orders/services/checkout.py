"""Placing an order, and the one hand-over to payments.

`order_place` is one transaction: re-check the cart, create the order in
`pending_payment` priced from the database, reserve every line (or none),
empty the cart. The view then calls `payment_handover(order)` *after* the
transaction, so no row lock is held while Stripe is called."""

from __future__ import annotations

import logging

from django.db import transaction

from orders.exceptions import CartChanged, CartEmpty, CheckoutUnavailable
from orders.models import Order, OrderLine, Profile
from orders.services.cart import CartStore, cart_refresh
from orders.services.reservations import reservation_expiry, stock_reserve
from orders.services.states import order_created_event
from rdk.funnel import funnel_count
from rdk.models import FunnelStep
from rdk.switches import switch_is_on

logger = logging.getLogger(__name__)


@transaction.atomic
def order_place(*, user, store: CartStore, expected_fingerprint: str | None = None) -> Order:
    """Turn the shopper's cart into a pending order with reserved stock.

    Raises CartEmpty, CartChanged (with the changes as its message; nothing
    written) or OutOfStock (someone else got the last pairs; nothing written)."""
    if not switch_is_on("feature.checkout"):
        raise CheckoutUnavailable("Checkout is paused for a moment. Your cart is saved.")
    summary = cart_refresh(store=store)
    if summary.notices or (expected_fingerprint and expected_fingerprint != summary.fingerprint):
        raise CartChanged(" ".join(summary.notices) or "Your cart changed; please review it.")
    if not summary.lines:
        raise CartEmpty("Your cart is empty.")
    profile = Profile.objects.filter(user=user).first()
    expires_at = reservation_expiry()
    order = Order.objects.create(
        user=user,
        email=user.email,
        currency=summary.currency,
        subtotal_amount=summary.subtotal,
        total_amount=summary.subtotal,
        shipping_address=profile.shipping_address if profile else "",
        reserved_until=expires_at,
    )
    for line in sorted(summary.lines, key=lambda li: li.variant.pk):
        variant = line.variant
        stock_reserve(order=order, variant=variant, quantity=line.quantity, expires_at=expires_at)
        OrderLine.objects.create(
            order=order,
            variant=variant,
            product_name=variant.product.name,
            size_label=variant.size_label,
            sku=variant.sku,
            unit_amount=variant.price_amount,
            quantity=line.quantity,
            line_amount=variant.price_amount * line.quantity,
        )
    order_created_event(order=order, actor=f"user:{user.pk}")
    store.clear()
    funnel_count(FunnelStep.CHECKOUT_START)
    logger.info(
        "order.placed",
        extra={"order": order.number, "lines": len(summary.lines), "total": order.total_amount},
    )
    return order


def payment_line_items(order: Order) -> list[dict]:
    """The order's lines in the shape payments' checkout_session_create takes."""
    return [
        {
            "name": f"{line.product_name} ({line.size_label})",
            "unit_amount": line.unit_amount,
            "currency": order.currency.lower(),
            "quantity": line.quantity,
        }
        for line in order.lines.all()
    ]


def payment_handover(order: Order) -> str:
    """THE hand-over to payments: returns the URL to send the shopper to (the
    Checkout Session's page). Called after `order_place` committed, and again by
    "Pay now" on a pending order; no row lock is held while Stripe is called.

    The order's current session is reused while it is open; when it expired or
    ended unpaid, the next attempt (`Order.checkout_attempt`) gets a new session.
    Raises CheckoutUnavailable (order no longer payable) or a payments error
    (StripeUnavailable, StripeRejected...): the order stays pending with its
    reservation, and calling again is safe."""
    from django.conf import settings
    from django.urls import reverse

    from orders.services.payments import (
        checkout_attempt_begin,
        checkout_session_record,
        payment_fulfil,
    )
    from payments.services import checkout_session_create, checkout_session_retrieve
    from rdk.rls import rls_service_scope

    with rls_service_scope():
        order = Order.objects.get(pk=order.pk)  # the current attempt, not a stale copy
    site = settings.SITE_URL
    success_url = f"{site}{reverse('orders:checkout_success')}?session_id={{CHECKOUT_SESSION_ID}}"
    new_attempt = False
    if order.checkout_session_id:
        session = checkout_session_retrieve(order.checkout_session_id, expand=())
        if session.get("status") == "open" and session.get("url"):
            return session["url"]
        if session.get("payment_status") == "paid":
            with rls_service_scope():
                payment_fulfil(session=session, actor="system:handover")
            return success_url.replace("{CHECKOUT_SESSION_ID}", session["id"])
        if session.get("status") == "complete":  # submitted, still processing
            return order.get_absolute_url()
        new_attempt = True  # expired
    with rls_service_scope():
        order = checkout_attempt_begin(order=order, new_attempt=new_attempt)
        lines = payment_line_items(order)
    result = checkout_session_create(
        reference=str(order.public_id),
        line_items=lines,
        customer_email=order.email,
        expires_at=order.checkout_expires_at,
        success_url=success_url,
        cancel_url=f"{site}{reverse('orders:checkout_cancel', args=[order.public_id])}",
        attempt=order.checkout_attempt,
    )
    with rls_service_scope():
        checkout_session_record(order=order, attempt=order.checkout_attempt, session_id=result.id)
    funnel_count(FunnelStep.STRIPE_HANDOVER)
    logger.info(
        "order.payment_handover",
        extra={"order": order.number, "attempt": order.checkout_attempt, "session_id": result.id},
    )
    return result.url
