"""Checkout: placing an order, the hand-over to payments, and the shopper's
return from Stripe's page (confirm on success, abandon on cancel).

`order_place` is one transaction: re-check the cart, create the order in
`pending_payment` priced from the database with its first payment attempt
begun, reserve every line (or none), empty the cart. The view then calls
`payment_handover(order, placed=True)` *after* the transaction, so no row lock
is held while Stripe creates the session.

Expiry (docs/orders.md, "Reservations and Checkout Sessions"): a session's
`expires_at` is the reservation's, but never less than Stripe's 30-minute
minimum (plus a minute for clocks); the reservation is then held
`PAYMENT_GRACE` longer than the session, so a payment made in the session's
last second is recorded before the pairs can be released."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from orders.addresses import ShippingAddress
from orders.exceptions import CartChanged, CartEmpty, CheckoutUnavailable
from orders.models import Order, OrderLine, OrderStatus, ReservationStatus
from orders.selectors import order_get_for_user
from orders.services.cart import CartStore, cart_refresh
from orders.services.lifecycle import order_cancel
from orders.services.payments import order_mark_paid_from_checkout
from orders.services.reservations import (
    order_pairs_back_to_cart,
    reservation_expiry,
    reservation_release_for_order,
    stock_reserve,
)
from orders.services.states import order_created_event, order_lock
from payments import services as payments
from payments.events import CheckoutSessionResult
from payments.exceptions import PaymentsError, StripeRejected
from rdk.funnel import funnel_count
from rdk.models import FunnelStep
from rdk.rls import rls_scope, rls_service_scope
from rdk.switches import switch_is_on

logger = logging.getLogger(__name__)

# Stripe refuses a Checkout Session expiring less than 30 minutes after it is
# created; one more minute covers the clock difference and the request's time.
STRIPE_MIN_EXPIRY = dt.timedelta(minutes=31)
STRIPE_MAX_EXPIRY = dt.timedelta(hours=23, minutes=59)
# The reservation outlives its session by this much: the completed webhook of a
# payment made in the session's last second arrives before the pairs are released.
PAYMENT_GRACE = dt.timedelta(minutes=5)


@transaction.atomic
def order_place(
    *,
    user: User,
    store: CartStore,
    ship_to: ShippingAddress,
    expected_fingerprint: str | None = None,
) -> Order:
    """Turn the shopper's cart into a pending order with reserved stock, shipping
    to `ship_to` (validated by `address_clean`; copied onto the order).

    The order's first payment attempt begins here, as `checkout_attempt_begin`
    would begin it: attempt 1, the session's expiry, the pairs held
    PAYMENT_GRACE past it. The hand-over of the order just placed then needs
    neither to read it again nor to lock it again (`payment_handover`'s `placed`).

    Raises CartEmpty, CartChanged (with the changes as its message; nothing
    written) or OutOfStock (someone else got the last pairs; nothing written)."""
    if not switch_is_on("feature.checkout"):
        raise CheckoutUnavailable("Checkout is paused for a moment. Your cart is saved.")
    store.lock()
    summary = cart_refresh(store=store)
    if summary.notices or (expected_fingerprint and expected_fingerprint != summary.fingerprint):
        raise CartChanged(" ".join(summary.notices) or "Your cart changed; please review it.")
    if not summary.lines:
        raise CartEmpty("Your cart is empty.")
    now = timezone.now()
    session_expires_at = checkout_expiry(reserved_until=reservation_expiry(now), now=now)
    expires_at = session_expires_at + PAYMENT_GRACE
    order = Order.objects.create(
        user=user,
        email=user.email,
        currency=summary.currency,
        subtotal_amount=summary.subtotal,
        total_amount=summary.subtotal,
        shipping_address=ship_to.text,
        ship_to=ship_to.as_dict(),
        reserved_until=expires_at,
        checkout_attempt=1,
        checkout_expires_at=session_expires_at,
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


def payment_line_items(order: Order) -> list[dict[str, Any]]:
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


def payment_handover(order: Order, *, placed: bool = False) -> str:
    """THE hand-over to payments: returns the URL to send the shopper to (the
    Checkout Session's page). Called after `order_place` committed, and again by
    "Pay now" on a pending order; no row lock is held while Stripe is called.

    The order's current session is reused while it is open; when it expired or
    ended unpaid, the next attempt (`Order.checkout_attempt`) gets a new session.
    Raises CheckoutUnavailable (order no longer payable) or a payments error
    (StripeUnavailable, StripeRejected...): the order stays pending with its
    reservation, and calling again is safe.

    `placed`: `order` is what `order_place` returned in this request, with its
    first attempt begun and no session yet; it is not read or locked again.
    Any later call reads the order as it is now. Either way the session is
    created with the attempt's idempotency key, so a concurrent call for the
    same attempt gets the same session back."""
    if placed and order.checkout_attempt and not order.checkout_session_id:
        with rls_service_scope():
            lines = payment_line_items(order)
        return _session_open(order, lines=lines, expires_at=order.checkout_expires_at)
    with rls_service_scope():
        order = Order.objects.get(pk=order.pk)  # the current attempt, not a stale copy
    site = settings.SITE_URL
    success_url = f"{site}{reverse('orders:checkout_success')}?session_id={{CHECKOUT_SESSION_ID}}"
    new_attempt = False
    if order.checkout_session_id:
        session = payments.checkout_session_retrieve(order.checkout_session_id)
        if session.is_open and session.url:
            return session.url
        if session.is_paid:
            with rls_service_scope():
                order_mark_paid_from_checkout(session=session, actor="system:handover")
            return success_url.replace("{CHECKOUT_SESSION_ID}", session.id)
        if session.status == "complete":  # submitted, still processing
            return order.get_absolute_url()
        new_attempt = True  # expired
    with rls_service_scope():
        order, expires_at = checkout_attempt_begin(order=order, new_attempt=new_attempt)
        lines = payment_line_items(order)
    return _session_open(order, lines=lines, expires_at=expires_at)


def _session_open(
    order: Order, *, lines: list[dict[str, Any]], expires_at: dt.datetime | None
) -> str:
    """Create (or get back) the Checkout Session of the order's current attempt
    and remember it; its page's URL."""
    if expires_at is None:  # an attempt always has its expiry (checkout_attempt_begin)
        raise CheckoutUnavailable(f"Order {order.number} has no payment attempt; try again.")
    site = settings.SITE_URL
    success_url = f"{site}{reverse('orders:checkout_success')}?session_id={{CHECKOUT_SESSION_ID}}"
    result = payments.checkout_session_create(
        reference=str(order.public_id),
        line_items=lines,
        customer_email=order.email,
        expires_at=expires_at,
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
    if not result.url:  # Stripe gives every open session a page
        raise CheckoutUnavailable("Stripe returned no payment page for this order; try again.")
    return result.url


def checkout_expiry(*, reserved_until: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """The Checkout Session's expiry: the reservation's, within Stripe's limits."""
    wanted = reserved_until or now
    return min(max(wanted, now + STRIPE_MIN_EXPIRY), now + STRIPE_MAX_EXPIRY)


@transaction.atomic
def checkout_attempt_begin(*, order: Order, new_attempt: bool) -> tuple[Order, dt.datetime]:
    """Fix the parameters of the order's Checkout Session attempt before Stripe is
    called; returns the order and its session's expiry. A new attempt (the first,
    or after the previous session expired or ended unpaid) gets the next number
    and a fresh expiry; the reservation is extended to the session's expiry plus
    PAYMENT_GRACE. Raises CheckoutUnavailable when the order can no longer be paid."""
    order = order_lock(order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise CheckoutUnavailable(
            f"Order {order.number} is {OrderStatus(order.status).label.lower()}; "
            "it cannot be paid any more."
        )
    now = timezone.now()
    active = order.reservations.filter(status=ReservationStatus.ACTIVE)
    if active.filter(expires_at__lte=now).exists() or not active.exists():
        reservation_release_for_order(order, "reservation expired", actor="system:expiry")
        raise CheckoutUnavailable(
            f"The reservation for order {order.number} expired and the pairs went back on sale."
            " Add them to your cart again to check out."
        )
    if order.checkout_attempt and not new_attempt and order.checkout_expires_at:
        return order, order.checkout_expires_at
    expires_at = checkout_expiry(reserved_until=order.reserved_until, now=now)
    order.checkout_attempt += 1
    order.checkout_expires_at = expires_at
    order.checkout_session_id = ""
    order.reserved_until = expires_at + PAYMENT_GRACE
    order.save(
        update_fields=[
            "checkout_attempt",
            "checkout_expires_at",
            "checkout_session_id",
            "reserved_until",
            "updated_at",
        ]
    )
    active.update(expires_at=order.reserved_until)
    return order, expires_at


def checkout_session_record(*, order: Order, attempt: int, session_id: str) -> None:
    """Remember the session created for `attempt` (unless a newer attempt began).
    One conditional UPDATE, atomic by itself: no savepoint of its own inside
    the caller's row-security transaction."""
    Order.objects.filter(pk=order.pk, checkout_attempt=attempt).update(
        checkout_session_id=session_id
    )


@dataclass(frozen=True)
class CheckoutConfirmation:
    """What the success page shows: the shopper's order as it is now, and the
    session as Stripe reports it."""

    order: Order
    session: CheckoutSessionResult

    @property
    def processing(self) -> bool:
        """Submitted at Stripe, not paid yet (a bank debit): the page reloads."""
        return self.order.is_pending and self.session.status == "complete"


def checkout_confirm(*, user: User, session_id: str) -> CheckoutConfirmation:
    """The shopper is back from Stripe's page with `session_id`: ask Stripe for the
    session and, when it is paid, mark the order paid (the webhook's own function),
    so the shopper sees the paid order even before the webhook arrives.

    Stripe is asked first, outside any transaction; then one row-security scope
    (the shopper's) reads and writes the order. Raises Http404 for a session of
    another shopper, StripeRejected for a session Stripe does not know, and other
    payments errors when Stripe cannot be asked."""
    session = payments.checkout_session_retrieve(session_id)
    with rls_scope(user=user):
        order = order_get_for_user(user=user, public_id=session.client_reference_id)
        if order.is_pending and session.is_paid:
            order_mark_paid_from_checkout(session=session, actor=f"user:{user.pk}")
            order = order_get_for_user(user=user, public_id=order.public_id)
    return CheckoutConfirmation(order=order, session=session)


@dataclass(frozen=True)
class CheckoutAbandoned:
    """The outcome of the shopper's "cancel" on Stripe's page. `canceled`: the order
    was canceled and its pairs put back in the cart; otherwise it was no longer
    pending, or its session was paid or submitted meanwhile (`session_closed`)."""

    order: Order
    canceled: bool
    session_closed: bool = False


def checkout_abandon(*, user: User, public_id: str) -> CheckoutAbandoned:
    """The shopper left Stripe's page with "cancel": expire the session at Stripe
    (so it can no longer be paid), release the reservation, cancel the order and
    put its pairs back in the cart (re-checked when the cart is shown). A paid
    order, or one whose session Stripe will not expire (paid meanwhile), is left
    alone.

    One row-security scope (the shopper's) and one transaction: the order stays
    locked while Stripe expires the session, so a payment webhook racing the
    cancel waits and then finds the order canceled (and refunds the payment), or
    Stripe refuses the expiry because the payment came first. Raises Http404 for
    another shopper's order, CheckoutUnavailable when Stripe cannot be reached
    (nothing changed)."""
    actor = f"user:{user.pk}"
    with rls_scope(user=user):
        order = order_lock(order_get_for_user(user=user, public_id=public_id))
        if order.status != OrderStatus.PENDING_PAYMENT:
            return CheckoutAbandoned(order=order, canceled=False)
        if order.checkout_session_id:
            try:
                payments.checkout_session_expire(order.checkout_session_id)
            except StripeRejected:
                # No longer open: paid (or submitted) meanwhile; never cancel a payment.
                return CheckoutAbandoned(order=order, canceled=False, session_closed=True)
            except PaymentsError as error:
                raise CheckoutUnavailable(
                    f"{error} Your order {order.number} is still reserved; cancel it from the cart."
                ) from error
        order = order_cancel(order=order, actor=actor, reason="payment canceled by shopper")
        order_pairs_back_to_cart(order)
    return CheckoutAbandoned(order=order, canceled=True)
