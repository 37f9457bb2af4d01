"""Inspect and replay stored Stripe events (the ops console puts a UI on the same services)."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from payments import selectors, services
from payments.exceptions import EventNotFound, EventNotHandleable
from payments.models import StripeEvent, StripeEventReplay


def parse_since(value: str) -> datetime:
    """`24h`, `7d`, `30m` or an ISO 8601 date/time (UTC when no offset)."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[:-1].isdigit() and value[-1:] in units:
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    parsed = parse_datetime(value) or parse_datetime(f"{value}T00:00:00")
    if parsed is None:
        raise CommandError(f"--since {value!r}: use 30m, 24h, 7d or an ISO date like 2026-01-31.")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "List, show, replay and mark handled stored Stripe webhook events."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="List stored events, newest first.")
        listing.add_argument("--status", choices=StripeEvent.Status.values)
        listing.add_argument("--type", dest="event_type", help="e.g. checkout.session.completed")
        listing.add_argument("--since", help="30m, 24h, 7d or an ISO date/time")
        listing.add_argument("--limit", type=int, default=50)
        show = sub.add_parser("show", help="Show one event with its payload.")
        show.add_argument("event_id")
        replay = sub.add_parser("replay", help="Replay events through the handlers.")
        replay.add_argument("event_ids", nargs="*", metavar="EVENT_ID")
        replay.add_argument("--failed", action="store_true", help="Replay every failed event.")
        replay.add_argument("--actor", default="", help="Who replays (default: the OS user).")
        handled = sub.add_parser(
            "handle",
            help="Mark a failed event handled (one that will never succeed), with a reason.",
        )
        handled.add_argument("event_id")
        handled.add_argument("--reason", required=True, help="Why no replay is needed (audited).")
        handled.add_argument("--actor", default="", help="Who decides (default: the OS user).")

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, f"handle_{action}")(**options)

    def handle_list(self, *, status, event_type, since, limit, **_) -> None:
        if limit < 1:
            raise CommandError("--limit must be 1 or more.")
        events = selectors.event_list(
            status=status, type=event_type, since=parse_since(since) if since else None
        )
        total = events.count()
        for event in events[:limit]:
            self.stdout.write(
                f"{event.stripe_id:<32} {event.type:<42} {event.status:<9} "
                f"attempts={event.attempts} deliveries={event.delivery_count} "
                f"{event.received_at:%Y-%m-%d %H:%M:%S}Z"
            )
        shown = min(total, limit)
        self.stdout.write(f"{shown} of {total} event(s) shown.")

    def handle_show(self, *, event_id, **_) -> None:
        try:
            event = selectors.event_get(stripe_id=event_id)
        except EventNotFound as exc:
            raise CommandError(str(exc)) from exc
        out = self.stdout.write
        out(f"{event.stripe_id}  {event.type}")
        out(f"  status:      {event.status} (attempts {event.attempts})")
        out(f"  deliveries:  {event.delivery_count}  request ids: {', '.join(event.request_ids)}")
        out(f"  received:    {event.received_at:%Y-%m-%d %H:%M:%S}Z")
        if event.processed_at:
            out(f"  processed:   {event.processed_at:%Y-%m-%d %H:%M:%S}Z")
        out(f"  api version: {event.api_version}  livemode: {event.livemode}")
        if event.last_error:
            out(f"  last error:  {event.last_error}")
        if event.status == StripeEvent.Status.HANDLED:
            out(f"  handled by:  {event.handled_by}: {event.handled_reason}")
        for replay in event.replays.all():
            out(
                f"  replay:      {replay.replayed_at:%Y-%m-%d %H:%M:%S}Z by {replay.actor}: "
                f"{replay.outcome}"
            )
        out(json.dumps(event.payload, indent=2, sort_keys=True))

    def handle_replay(self, *, event_ids, failed, actor, **_) -> None:
        if failed == bool(event_ids):
            raise CommandError("Give EVENT_ID… or --failed (one of the two).")
        actor = actor or f"cli:{getpass.getuser()}"
        if failed:
            replays = services.events_replay_failed(actor=actor)
        else:
            missing = [
                event_id
                for event_id in event_ids
                if not StripeEvent.objects.filter(stripe_id=event_id).exists()
            ]
            if missing:
                raise CommandError(f"No stored Stripe event: {', '.join(missing)}.")
            replays = [
                services.event_replay_by_id(stripe_id=event_id, actor=actor)
                for event_id in event_ids
            ]
        for replay in replays:
            line = f"{replay.event.stripe_id:<32} {replay.event.type:<42} {replay.outcome}"
            if replay.error:
                line += f"  ({replay.error})"
            self.stdout.write(line)
        failures = sum(1 for r in replays if r.outcome == StripeEventReplay.Outcome.FAILED)
        self.stdout.write(
            f"Replayed {len(replays)} event(s): {len(replays) - failures} ok, {failures} failed."
        )
        if failures:
            raise CommandError(f"{failures} replay(s) failed; see the errors above.")

    def handle_handle(self, *, event_id, reason, actor, **_) -> None:
        actor = actor or f"cli:{getpass.getuser()}"
        try:
            event = services.event_mark_handled(stripe_id=event_id, reason=reason, actor=actor)
        except (EventNotFound, EventNotHandleable) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{event.stripe_id} marked handled by {actor}: {event.handled_reason}")
