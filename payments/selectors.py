"""Reads of the webhook inbox, for commands and the ops console."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from payments.exceptions import EventNotFound
from payments.models import StripeEvent


def event_list(
    *, status: str | None = None, type: str | None = None, since: datetime | None = None
) -> QuerySet[StripeEvent]:
    events = StripeEvent.objects.all()
    if status:
        events = events.filter(status=status)
    if type:
        events = events.filter(type=type)
    if since:
        events = events.filter(received_at__gte=since)
    return events.order_by("-received_at", "-id")


def event_get(*, stripe_id: str) -> StripeEvent:
    try:
        return StripeEvent.objects.prefetch_related("replays").get(stripe_id=stripe_id)
    except StripeEvent.DoesNotExist as exc:
        raise EventNotFound(f"No stored Stripe event {stripe_id!r}.") from exc
