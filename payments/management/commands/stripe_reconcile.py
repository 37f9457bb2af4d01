"""List Checkout Sessions that Stripe reports paid but whose payment RDK has not
recorded; with --apply, record them through the registered payment recorder."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from payments import registry, services
from payments.exceptions import PaymentsError
from payments.gateway import operator_message
from payments.management.commands.stripe_events import parse_since
from rdk.money import money_text


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M}Z" if at else "-"


class Command(BaseCommand):
    help = (
        "List Checkout Sessions Stripe reports paid whose payment RDK has not recorded "
        "(asks the paid check registered in payments.registry); --apply records them "
        "with the same function the webhook uses."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", default="7d", help="30m, 24h, 7d or an ISO date/time")
        parser.add_argument("--all", action="store_true", help="List recorded sessions too.")
        parser.add_argument(
            "--apply", action="store_true", help="Record the paid sessions that are not."
        )

    def handle(self, *args, since: str, all: bool, apply: bool, **options) -> None:
        since_at = parse_since(since)
        try:
            rows = services.reconcile_list(since=since_at, include_recorded=all)
        except PaymentsError as exc:
            raise CommandError(operator_message(exc)) from exc
        labels = {True: "recorded", False: "NOT RECORDED", None: "unknown"}
        for row in rows:
            amount = (
                money_text(row.amount_total, row.currency, symbol=False)
                if row.amount_total is not None and row.currency
                else "-"
            )
            self.stdout.write(
                f"{row.session_id:<40} {row.reference or '-':<28} {amount:<14} "
                f"{_when(row.created)} {labels[row.recorded]}"
            )
        unrecorded = sum(1 for row in rows if row.recorded is False)
        if not registry.paid_check_registered():
            self.stdout.write("No paid check is registered: whether RDK recorded them is unknown.")
        self.stdout.write(f"{len(rows)} paid session(s) listed, {unrecorded} not recorded.")
        if not apply:
            if unrecorded:
                raise CommandError(f"{unrecorded} paid session(s) are not recorded.")
            return
        if not unrecorded:
            self.stdout.write("Nothing to apply.")
            return
        try:
            applied = services.reconcile_apply(since=since_at)
        except PaymentsError as exc:
            raise CommandError(operator_message(exc)) from exc
        for result in applied:
            outcome = "recorded" if result.recorded else f"NOT RECORDED {result.error}".strip()
            reference = result.reference or "-"
            self.stdout.write(f"apply {result.session_id:<40} {reference:<28} {outcome}")
        failed = sum(1 for result in applied if not result.recorded)
        self.stdout.write(f"{len(applied) - failed} session(s) recorded, {failed} not.")
        if failed:
            raise CommandError(f"{failed} paid session(s) could not be recorded.")
