"""Reads that decide who may see which orders. On PostgreSQL row security
enforces the same rule a second time; on SQLite these filters are the rule."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404

from orders.models import Order, Profile


def order_list_for_user(*, user) -> QuerySet[Order]:
    if not user.is_authenticated:
        return Order.objects.none()
    return Order.objects.filter(user=user).prefetch_related("lines")


def order_get_for_user(*, user, public_id) -> Order:
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


def profile_get_for_user(*, user) -> Profile:
    profile = Profile.objects.filter(user=user).first()
    return profile if profile is not None else Profile(user=user)
