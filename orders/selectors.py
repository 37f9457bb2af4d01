"""Reads that decide who may see which orders. On PostgreSQL row security
enforces the same rule a second time; on SQLite these filters are the rule."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    Min,
    Q,
    prefetch_related_objects,
)
from django.http import Http404
from django.utils import timezone

from orders.emails import order_reference
from orders.models import Order, OrderStatus, Profile, Reservation, ReservationStatus
from rdk.emails import emails_for
from rdk.models import OutboundEmail


@dataclass(frozen=True)
class OrderHistory:
    orders: list[Order]  # newest first, with their lines
    abandoned_count: int  # checkouts canceled before any payment, not listed


def order_history_for_user(*, user: User | AnonymousUser) -> OrderHistory:
    """The shopper's orders, without payment attempts canceled before any
    payment (only counted: nothing was charged). One query for the orders and
    the count, one for the listed orders' lines."""
    if not user.is_authenticated:
        return OrderHistory(orders=[], abandoned_count=0)
    rows = list(
        Order.objects.filter(user=user).annotate(
            abandoned=ExpressionWrapper(_abandoned_attempt(), output_field=BooleanField())
        )
    )
    orders: list[Order] = [order for order in rows if not order.abandoned]
    prefetch_related_objects(orders, "lines")
    return OrderHistory(orders=orders, abandoned_count=len(rows) - len(orders))


def _abandoned_attempt() -> Q:
    return Q(status=OrderStatus.CANCELED, paid_at__isnull=True)


def orders_awaiting_payment_for_user(*, user: User | AnonymousUser) -> list[Order]:
    """The shopper's orders still awaiting payment (shown on the cart page with Pay now)."""
    if not user.is_authenticated:
        return []
    pending = Order.objects.filter(user=user, status="pending_payment")
    return list(pending.order_by("-created_at")[:5])


def order_emails(*, order: Order) -> list[OutboundEmail]:
    """The emails sent (or queued) about `order`, oldest first. Only for an
    order the reader may see: one `order_get_for_user` returned."""
    return emails_for(reference=order_reference(order))


def order_get_for_user(*, user: User | AnonymousUser, public_id: object) -> Order:
    """The shopper's order, or Http404 — also for someone else's, so ids are not confirmed."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404("No such order.") from None
    if not user.is_authenticated:
        raise Http404("No such order.")
    order = (
        Order.objects.filter(user=user, public_id=key).prefetch_related("lines", "events").first()
    )
    if order is None:
        raise Http404("No such order.")
    return order


def profile_get_for_user(*, user: User) -> Profile:
    profile = Profile.objects.filter(user=user).first()
    return profile if profile is not None else Profile(user=user)


@dataclass(frozen=True)
class ReleaseBacklog:
    count: int
    oldest_expired_at: dt.datetime | None


def reservations_awaiting_release(*, now: dt.datetime | None = None) -> ReleaseBacklog:
    """Reservations past their expiry that still hold stock: what the next run of
    `release_expired_reservations` (or a shopper's cart) will put back on sale.
    Reads across shoppers: call it under `rls_service_scope()`."""
    found = Reservation.objects.filter(
        status=ReservationStatus.ACTIVE, expires_at__lte=now or timezone.now()
    ).aggregate(count=Count("id"), oldest=Min("expires_at"))
    return ReleaseBacklog(count=found["count"], oldest_expired_at=found["oldest"])
