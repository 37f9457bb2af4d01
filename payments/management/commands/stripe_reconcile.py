"""List Checkout Sessions that Stripe reports paid but whose order RDK has not
fulfilled; with --apply, fulfil them through the registered fulfilment."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from payments import registry, services
from payments.exceptions import PaymentsError
from payments.gateway import operator_message
from payments.management.commands.stripe_events import parse_since
from rdk.money import money_text


class Command(BaseCommand):
    help = (
        "List Checkout Sessions Stripe reports paid whose reference is not fulfilled "
        "(asks the fulfilment check registered in payments.registry); --apply fulfils them "
        "with the same function the webhook uses."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", default="7d", help="30m, 24h, 7d or an ISO date/time")
        parser.add_argument("--all", action="store_true", help="List fulfilled sessions too.")
        parser.add_argument(
            "--apply", action="store_true", help="Fulfil the paid sessions that are not."
        )

    def handle(self, *args, since: str, all: bool, apply: bool, **options) -> None:
        since_at = parse_since(since)
        try:
            rows = services.reconcile_list(since=since_at, include_fulfilled=all)
        except PaymentsError as exc:
            raise CommandError(operator_message(exc)) from exc
        labels = {True: "fulfilled", False: "NOT FULFILLED", None: "unknown"}
        for row in rows:
            amount = (
                money_text(row.amount_total, row.currency, symbol=False)
                if row.amount_total is not None
                else "-"
            )
            self.stdout.write(
                f"{row.session_id:<40} {row.reference or '-':<28} {amount:<14} "
                f"{row.created:%Y-%m-%d %H:%M}Z {labels[row.fulfilled]}"
            )
        unfulfilled = sum(1 for row in rows if row.fulfilled is False)
        if not registry.fulfilment_check_registered():
            self.stdout.write("No fulfilment check is registered: fulfilment is unknown.")
        self.stdout.write(f"{len(rows)} paid session(s) listed, {unfulfilled} not fulfilled.")
        if not apply:
            if unfulfilled:
                raise CommandError(f"{unfulfilled} paid session(s) are not fulfilled.")
            return
        if not unfulfilled:
            self.stdout.write("Nothing to apply.")
            return
        try:
            applied = services.reconcile_apply(since=since_at)
        except PaymentsError as exc:
            raise CommandError(operator_message(exc)) from exc
        for result in applied:
            outcome = "fulfilled" if result.fulfilled else f"NOT FULFILLED {result.error}".strip()
            reference = result.reference or "-"
            self.stdout.write(f"apply {result.session_id:<40} {reference:<28} {outcome}")
        failed = sum(1 for result in applied if not result.fulfilled)
        self.stdout.write(f"{len(applied) - failed} session(s) fulfilled, {failed} not.")
        if failed:
            raise CommandError(f"{failed} paid session(s) could not be fulfilled.")
