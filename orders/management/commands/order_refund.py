"""Refund a paid order through Stripe, in full or in part."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from orders.exceptions import OrdersError
from orders.models import Order
from orders.services.refunds import order_refund
from payments.exceptions import PaymentsError
from payments.gateway import operator_message
from rdk.money import money_text
from rdk.rls import rls_service_scope


class Command(BaseCommand):
    help = (
        "Refund a paid order through Stripe: everything left (default) or --amount CENTS; "
        "never more than was captured. Recorded on the order with its events."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("number", help="The order number, e.g. RDK-7K3QH9")
        parser.add_argument(
            "--amount", type=int, help="Minor units (cents) to refund; default: all that is left."
        )
        parser.add_argument("--actor", default="ops:cli", help="Who is refunding (recorded).")

    def handle(self, *args, number: str, amount: int | None, actor: str, **options) -> None:
        if amount is not None and amount < 1:
            raise CommandError("--amount must be a positive number of cents.")
        with rls_service_scope():
            order = Order.objects.filter(number=number.strip().upper()).first()
            if order is None:
                raise CommandError(f"No order {number!r}.")
            try:
                order = order_refund(order=order, amount=amount, actor=actor)
            except PaymentsError as exc:
                raise CommandError(operator_message(exc)) from exc
            except OrdersError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Order {order.number}: refunded {order.refunded_amount} of "
            f"{order.captured_amount} cents in total "
            f"({money_text(order.refunded_amount, order.currency, symbol=False)} of "
            f"{money_text(order.captured_amount, order.currency, symbol=False)}); "
            f"status {order.status}."
        )
