"""Refund a paid order through Stripe, in full or in part."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from orders.exceptions import OrdersError
from orders.models import Order
from orders.services.refunds import order_refund
from payments.exceptions import PaymentsError
from payments.gateway import operator_message
from rdk.money import MoneyInvalid, money_parse, money_text
from rdk.rls import rls_service_scope


class Command(BaseCommand):
    help = (
        "Refund a paid order through Stripe: everything left (default) or --amount "
        "in the order's currency units (e.g. 50.00); "
        "never more than was captured. Recorded on the order with its events."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("number", help="The order number, e.g. RDK-7K3QH9")
        parser.add_argument(
            "--amount",
            help="Amount to refund in the order's currency, e.g. 50.00 (more decimals than "
            "the currency has are refused); default: all that is left.",
        )
        parser.add_argument("--actor", default="ops:cli", help="Who is refunding (recorded).")

    def handle(self, *args, number: str, amount: str | None, actor: str, **options) -> None:
        with rls_service_scope():
            order = Order.objects.filter(number=number.strip().upper()).first()
            if order is None:
                raise CommandError(f"No order {number!r}.")
            try:
                minor = None if amount is None else money_parse(amount, order.currency)
            except MoneyInvalid as exc:
                raise CommandError(f"--amount: {exc}") from exc
            if minor is not None and minor < 1:
                raise CommandError("--amount must be more than zero.")
            try:
                order = order_refund(order=order, amount=minor, actor=actor)
            except PaymentsError as exc:
                raise CommandError(operator_message(exc)) from exc
            except OrdersError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Order {order.number}: refunded "
            f"{money_text(order.refunded_amount, order.currency, symbol=False)} of "
            f"{money_text(order.captured_amount, order.currency, symbol=False)} in total; "
            f"status {order.status}."
        )
