"""Data migrations of order rows, run against rows under row security."""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from orders.models import Order, OrderEvent
from rdk.rls import rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import UserFactory, order_for

pytestmark = pytest.mark.django_db

status_shipped = import_module("orders.migrations.0004_status_shipped")


def test_fulfilled_orders_and_their_events_become_shipped_and_back():
    order = order_for(UserFactory(), VariantFactory(stock_on_hand=2))
    with rls_service_scope():
        Order.objects.filter(pk=order.pk).update(status="fulfilled")
        OrderEvent.objects.create(order=order, from_status="paid", to_status="fulfilled", actor="t")
        OrderEvent.objects.create(
            order=order, from_status="fulfilled", to_status="refunded", actor="t"
        )
    editor = SimpleNamespace(connection=connection)

    status_shipped.forward(apps, editor)  # sets the service scope itself

    with rls_service_scope():
        assert Order.objects.get(pk=order.pk).status == "shipped"
        moves = set(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status"))
    assert ("paid", "shipped") in moves
    assert ("shipped", "refunded") in moves
    assert not any("fulfilled" in move for move in moves)

    status_shipped.backward(apps, editor)
    with rls_service_scope():
        assert Order.objects.get(pk=order.pk).status == "fulfilled"


refund_notes = import_module("orders.migrations.0005_refund_notes_in_currency_units")


def test_old_refund_notes_read_in_currency_units():
    order = order_for(UserFactory(), VariantFactory(stock_on_hand=2))
    with rls_service_scope():
        old = OrderEvent.objects.create(
            order=order, to_status="refunded", actor="t", note="Refunded 5000 USD"
        )
        other = OrderEvent.objects.create(
            order=order, to_status="refunded", actor="t", note="Refunded by hand"
        )

    refund_notes.forward(apps, SimpleNamespace(connection=connection))

    with rls_service_scope():
        assert OrderEvent.objects.get(pk=old.pk).note == "Refunded $50.00"
        assert OrderEvent.objects.get(pk=other.pk).note == "Refunded by hand"
