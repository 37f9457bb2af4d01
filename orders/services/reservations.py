"""Stock reservations: held at checkout, then released or sold exactly once.

Never oversell: a reservation is taken with one conditional UPDATE
(`stock_reserved + n <= stock_on_hand`), which PostgreSQL re-checks after
waiting for any concurrent writer of the same row, and the database's check
constraint `variant_reserved_lte_on_hand` backs it up.

Exactly once: a reservation leaves `active` through a conditional UPDATE of
its own status; only the caller whose UPDATE matched touches the stock.

These functions act across shoppers (expiry is nobody's request), so the
ones that look for work open the service row-security scope explicitly."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Variant
from catalog.services import product_stock_changed
from orders.exceptions import OutOfStock
from orders.models import Order, OrderStatus, Reservation, ReservationStatus
from orders.services.states import order_lock, order_transition
from rdk.funnel import funnel_count
from rdk.models import FunnelStep
from rdk.rls import rls_service_scope

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


def _finish(reservation: Reservation, *, to: str, reason: str, now: dt.datetime) -> bool:
    """Move one reservation out of `active`; True only for the caller who did."""
    moved = Reservation.objects.filter(pk=reservation.pk, status=ReservationStatus.ACTIVE).update(
        status=to, released_at=now, release_reason=reason[:100]
    )
    if not moved:
        return False
    stock = Variant.objects.filter(pk=reservation.variant_id)
    if to == ReservationStatus.CONSUMED:
        stock.update(
            stock_on_hand=F("stock_on_hand") - reservation.quantity,
            stock_reserved=F("stock_reserved") - reservation.quantity,
        )
    else:
        stock.update(stock_reserved=F("stock_reserved") - reservation.quantity)
    product_id, available = (
        Variant.objects.filter(pk=reservation.variant_id)
        .annotate(available=F("stock_on_hand") - F("stock_reserved"))
        .values_list("product_id", "available")[0]
    )
    # A sale leaves availability as it was; a release brings a sold-out size back
    # when what is available now is no more than what was released.
    came_back = to != ReservationStatus.CONSUMED and 0 < available <= reservation.quantity
    product_stock_changed(
        product_id=product_id, availability_changed=came_back, reason=f"stock.{to}"
    )
    return True


def _has_available(variant_id: int) -> bool:
    return Variant.objects.filter(pk=variant_id, stock_on_hand__gt=F("stock_reserved")).exists()


def _active(order: Order) -> list[Reservation]:
    # Variant order keeps lock acquisition order stable across transactions.
    return list(order.reservations.filter(status=ReservationStatus.ACTIVE).order_by("variant_id"))


def reservations_consume_for_order(*, order: Order) -> int:
    """The order is paid: its reserved pairs are sold. Returns how many reservations moved."""
    now = timezone.now()
    return sum(
        _finish(r, to=ReservationStatus.CONSUMED, reason="paid", now=now) for r in _active(order)
    )


@transaction.atomic
def reservation_release_for_order(order: Order, reason: str, *, actor: str = "system") -> int:
    """Put an unpaid order's reserved pairs back on sale and cancel the order.

    Called for a shopper's cancel, reservation expiry, and by payments when a
    Checkout Session expires. Idempotent: a second call releases nothing.
    Returns how many reservations were released."""
    order = order_lock(order)
    now = timezone.now()
    released = sum(
        _finish(r, to=ReservationStatus.RELEASED, reason=reason, now=now) for r in _active(order)
    )
    if order.status == OrderStatus.PENDING_PAYMENT:
        order_transition(order=order, to_status=OrderStatus.CANCELED, actor=actor, note=reason)
        funnel_count(FunnelStep.ABANDONED)
    if released:
        logger.info(
            "reservation.released",
            extra={"order": order.number, "reason": reason, "count": released},
        )
    return released


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
