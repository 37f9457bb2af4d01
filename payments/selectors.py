"""Reads of the webhook inbox, for commands and the ops console."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Min, QuerySet

from payments.events import event_object_parse
from payments.exceptions import EventNotFound, StripePayloadInvalid
from payments.models import StripeEvent


def event_list(
    *,
    status: str | None = None,
    type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[StripeEvent]:
    """Stored events, newest first; `since` inclusive, `until` exclusive (received_at)."""
    events = StripeEvent.objects.all()
    if status:
        events = events.filter(status=status)
    if type:
        events = events.filter(type=type)
    if since:
        events = events.filter(received_at__gte=since)
    if until:
        events = events.filter(received_at__lt=until)
    return events.order_by("-received_at", "-id")


def event_get(*, stripe_id: str) -> StripeEvent:
    try:
        return StripeEvent.objects.prefetch_related("replays").get(stripe_id=stripe_id)
    except StripeEvent.DoesNotExist as exc:
        raise EventNotFound(f"No stored Stripe event {stripe_id!r}.") from exc


def event_reference(*, event: StripeEvent) -> str | None:
    """The caller's reference (an order's public id) the event's object names, or
    None when it names none or its payload is malformed (the page still shows it)."""
    try:
        return event_object_parse(event_type=event.type, payload=event.payload).reference
    except StripePayloadInvalid:
        return None


def event_types() -> list[str]:
    """Every event type stored at least once, for filters."""
    return list(StripeEvent.objects.order_by("type").values_list("type", flat=True).distinct())


@dataclass(frozen=True)
class EventBacklog:
    """The inbox at a glance: how many events in each status, and the oldest
    that still waits (received, never finished) or failed (needs a replay)."""

    counts: dict[str, int] = field(default_factory=dict)
    oldest_received_at: datetime | None = None
    oldest_failed_at: datetime | None = None

    @property
    def unprocessed(self) -> int:
        return self.counts.get(StripeEvent.Status.RECEIVED, 0) + self.counts.get(
            StripeEvent.Status.FAILED, 0
        )

    @property
    def oldest_unprocessed_at(self) -> datetime | None:
        found = [at for at in (self.oldest_received_at, self.oldest_failed_at) if at is not None]
        return min(found) if found else None


def event_backlog() -> EventBacklog:
    """Counts by status (every status present, zero included) in one query."""
    rows = StripeEvent.objects.values("status").annotate(n=Count("id"), oldest=Min("received_at"))
    counts = dict.fromkeys(StripeEvent.Status.values, 0)
    oldest: dict[str, datetime] = {}
    for row in rows.order_by():
        counts[row["status"]] = row["n"]
        oldest[row["status"]] = row["oldest"]
    return EventBacklog(
        counts=counts,
        oldest_received_at=oldest.get(StripeEvent.Status.RECEIVED),
        oldest_failed_at=oldest.get(StripeEvent.Status.FAILED),
    )
