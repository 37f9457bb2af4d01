"""Stock reservations: held at checkout, then released or sold exactly once.

Never oversell: a reservation is taken with one conditional UPDATE
(`stock_reserved + n <= stock_on_hand`), which PostgreSQL re-checks after
waiting for any concurrent writer of the same row, and the database's check
constraint `variant_reserved_lte_on_hand` backs it up.

Exactly once: an order's active reservations are read under their row locks
before they leave `active`; a concurrent caller waits for them and then finds
none active, so only one caller touches the stock.

These functions act across shoppers (expiry is nobody's request), so the
ones that look for work open the service row-security scope explicitly."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from catalog.models import Variant
from catalog.services import product_stock_changed
from orders.emails import order_email_not_paid
from orders.exceptions import OutOfStock
from orders.models import Cart, CartItem, Order, OrderStatus, Reservation, ReservationStatus
from orders.pages import cart_changed
from orders.services.states import order_lock, order_transition
from rdk.funnel import funnel_count
from rdk.models import FunnelStep
from rdk.rls import rls_service_scope
from rdk.updates import update_returning

logger = logging.getLogger(__name__)


def reservation_expiry(now: dt.datetime | None = None) -> dt.datetime:
    minutes = getattr(settings, "ORDERS_RESERVATION_MINUTES", 30)
    return (now or timezone.now()) + dt.timedelta(minutes=minutes)


def stock_reserve(
    *, order: Order, variant: Variant, quantity: int, expires_at: dt.datetime
) -> Reservation:
    """Hold `quantity` pairs of `variant` for `order`, or raise OutOfStock."""
    held = Variant.objects.filter(
        pk=variant.pk, stock_on_hand__gte=F("stock_reserved") + quantity
    ).update(stock_reserved=F("stock_reserved") + quantity)
    if not held:
        raise OutOfStock(
            f"{variant.product.name} ({variant.size_label}) just sold out; "
            "it was removed from your order."
        )
    product_stock_changed(
        product_id=variant.product_id,
        availability_changed=not _has_available(variant.pk),
        reason="stock.reserved",
    )
    return Reservation.objects.create(
        order=order, variant=variant, quantity=quantity, expires_at=expires_at
    )


# One reservation moved: its size (variant id) and how many pairs it held.
Moved = tuple[int, int]


def _pairs_by_size(moved: list[Moved]) -> Counter[int]:
    """Pairs per variant id, in variant order."""
    pairs: Counter[int] = Counter()
    for variant_id, quantity in sorted(moved):
        pairs[variant_id] += quantity
    return pairs


def _finish_all(order: Order, *, to: str, reason: str) -> list[Moved]:
    """Move every active reservation of `order` out of `active` and its pairs
    out of `stock_reserved` (sold: out of `stock_on_hand` too). Returns the
    reservations moved (size, pairs), each exactly once.

    One `UPDATE … WHERE status = 'active' RETURNING` moves them all
    (`rdk.updates`): it locks each reservation it moves, and a concurrent
    caller waits, re-checks the status on the committed row and moves
    nothing (every caller holds the order's row lock already, so they queue
    there first). Then one conditional UPDATE per size moves its stock, in
    variant order so that lock acquisition order is stable across
    transactions."""
    moved: list[Moved] = [
        (variant_id, quantity)
        for variant_id, quantity in update_returning(
            order.reservations.filter(status=ReservationStatus.ACTIVE),
            returning=("variant", "quantity"),
            status=to,
            released_at=timezone.now(),
            release_reason=reason[:100],
        )
    ]
    for variant_id, quantity in _pairs_by_size(moved).items():  # in variant order
        stock = Variant.objects.filter(pk=variant_id)
        if to == ReservationStatus.CONSUMED:
            stock.update(
                stock_on_hand=F("stock_on_hand") - quantity,
                stock_reserved=F("stock_reserved") - quantity,
            )
        else:
            stock.update(stock_reserved=F("stock_reserved") - quantity)
    return moved


def _has_available(variant_id: int) -> bool:
    return Variant.objects.filter(pk=variant_id, stock_on_hand__gt=F("stock_reserved")).exists()


def reservations_consume_for_order(*, order: Order) -> int:
    """The order is paid: its reserved pairs are sold. Returns how many
    reservations moved. The caller holds the order's row lock.

    A sale takes the pairs out of both `stock_on_hand` and `stock_reserved`, so
    what a shopper can buy (their difference) is what it was: no page or
    listing shows anything else, and nothing is revalidated."""
    return len(_finish_all(order, to=ReservationStatus.CONSUMED, reason="paid"))


def _revalidate_released(released: list[Moved]) -> None:
    """Released pairs are on sale again: each product's own pages are stale,
    and the listings too where a sold-out size came back (what is available now
    is no more than what was released)."""
    quantities = _pairs_by_size(released)
    rows = (
        Variant.objects.filter(pk__in=quantities)
        .annotate(available=F("stock_on_hand") - F("stock_reserved"))
        .values_list("pk", "product_id", "available")
    )
    for variant_id, product_id, available in rows:
        product_stock_changed(
            product_id=product_id,
            availability_changed=0 < available <= quantities[variant_id],
            reason="stock.released",
        )


@transaction.atomic
def reservation_release_for_order(order: Order, reason: str, *, actor: str = "system") -> int:
    """Put an unpaid order's reserved pairs back on sale and cancel the order.

    Called for a shopper's cancel, reservation expiry, and by payments when a
    Checkout Session expires. Idempotent: a second call releases nothing.
    Returns how many reservations were released."""
    order = order_lock(order)
    moved = _finish_all(order, to=ReservationStatus.RELEASED, reason=reason)
    if moved:
        _revalidate_released(moved)
    released = len(moved)
    if order.status == OrderStatus.PENDING_PAYMENT:
        event = order_transition(
            order=order, to_status=OrderStatus.CANCELED, actor=actor, note=reason
        )
        if actor.startswith("system:"):
            # Stripe or the expiry canceled it, not a person: the shopper
            # finds the pairs in the cart again and is told so.
            order_pairs_back_to_cart(order)
            order_email_not_paid(order=order, event=event, reason=reason)
        funnel_count(FunnelStep.ABANDONED)
    if released:
        logger.info(
            "reservation.released",
            extra={"order": order.number, "reason": reason, "count": released},
        )
    return released


def order_pairs_back_to_cart(order: Order) -> int:
    """Put a canceled unpaid order's pairs back in its shopper's cart, to check
    out again (stock and prices are re-checked when the cart is shown); a size
    already in the cart is left as it is. Returns how many sizes were added."""
    cart, _ = Cart.objects.get_or_create(user_id=order.user_id)
    in_cart = set(cart.items.values_list("variant_id", flat=True))
    added = [
        CartItem(
            cart=cart,
            variant_id=line.variant_id,
            quantity=line.quantity,
            unit_amount_seen=line.unit_amount,
        )
        for line in order.lines.all()
        if line.variant_id not in in_cart
    ]
    CartItem.objects.bulk_create(added)
    if added:
        cart_changed(user_pk=order.user_id)
    return len(added)


def reservations_next_expiry(*, variant_ids: Iterable[int], now: dt.datetime) -> dt.datetime | None:
    """When the next active reservation of these sizes expires after `now`,
    whoever holds it (those already expired are `reservations_release_expired`'s):
    how long a page showing what is left of them stays true."""
    with rls_service_scope():
        found = Reservation.objects.filter(
            status=ReservationStatus.ACTIVE, variant_id__in=list(variant_ids), expires_at__gt=now
        ).aggregate(next=Min("expires_at"))
    expiry: dt.datetime | None = found["next"]
    return expiry


def reservations_release_expired(
    *, variant_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> int:
    """Release every expired reservation (optionally only for some sizes).

    Runs lazily before stock is read for a cart or checkout, and from
    `manage.py release_expired_reservations`. Returns the number of orders
    whose reservations were released."""
    now = now or timezone.now()
    with rls_service_scope():
        expired = Reservation.objects.filter(status=ReservationStatus.ACTIVE, expires_at__lte=now)
        if variant_ids is not None:
            expired = expired.filter(variant_id__in=list(variant_ids))
        order_ids = sorted(set(expired.values_list("order_id", flat=True)))
        count = 0
        for order in Order.objects.filter(pk__in=order_ids).order_by("pk"):
            if reservation_release_for_order(order, "reservation expired", actor="system:expiry"):
                count += 1
    return count
