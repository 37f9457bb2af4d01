"""Order invariants checked on a restored snapshot (orders/integrity.py), end to
end through `snapshot create` and `snapshot restore-check` on PostgreSQL."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from opsadmin.services import snapshots as service
from orders.models import Order, OrderStatus
from orders.rowsecurity import PROTECTED, enable_sql
from orders.services.lifecycle import order_mark_paid
from rdk.integrity import integrity_checks
from rdk.rls import rls_service_scope
from tests.catalog.factories import ProductFactory
from tests.orders.factories import UserFactory, order_for

CHECKS = ("orders.paid_orders_have_payment", "orders.row_security")


@pytest.fixture(autouse=True)
def snapshot_dir(settings, tmp_path):
    settings.SNAPSHOT_DIR = str(tmp_path / "snapshots")


def paid_order() -> Order:
    variant = ProductFactory(with_sizes=1).variants.first()
    order = order_for(UserFactory(), variant)
    with rls_service_scope():
        return order_mark_paid(
            order=order,
            payment_reference="pi_test_paid",
            amount=order.total_amount,
            actor="system:test",
        )


def restore_check():
    service.snapshot_create(actor="test")
    return service.snapshot_restore_check(actor="test")


def test_orders_registers_its_checks():
    assert set(CHECKS) <= set(integrity_checks())


@pytest.mark.django_db
def test_snapshot_key_tables_are_real_tables():
    tables = set(connection.introspection.table_names())
    assert set(settings.SNAPSHOT_KEY_TABLES) <= tables
    assert {"orders_order", "catalog_product", "orders_profile"} <= set(
        settings.SNAPSHOT_KEY_TABLES
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_restore_check_passes_with_a_paid_order():
    order = paid_order()
    assert order.status == OrderStatus.PAID
    check = restore_check()
    assert check.ok, check.problems
    for name in CHECKS:
        assert check.details["checks"][name] == {"ok": True, "problems": []}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_restore_check_fails_when_a_paid_orders_payment_is_missing():
    order = paid_order()
    with rls_service_scope():
        Order.objects.filter(pk=order.pk).update(payment_reference="")
    check = restore_check()
    assert not check.ok
    assert check.details["checks"]["orders.paid_orders_have_payment"]["problems"] == [
        f"1 paid order(s) without a recorded payment: {order.number} (paid)"
    ]
    assert check.details["checks"]["orders.row_security"]["ok"] is True


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_restore_check_fails_when_a_policy_was_dropped_before_the_snapshot():
    paid_order()
    orders_table = next(item for item in PROTECTED if item.table == "orders_order")
    with connection.cursor() as cursor:
        cursor.execute("DROP POLICY rdk_owner ON orders_order")
        cursor.execute("ALTER TABLE orders_order NO FORCE ROW LEVEL SECURITY")
    try:
        check = restore_check()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(enable_sql(orders_table))
    assert not check.ok
    assert check.details["checks"]["orders.row_security"]["problems"] == [
        "orders_order: row security not forced",
        "orders_order: missing policies: rdk_owner",
    ]
    assert check.details["checks"]["orders.paid_orders_have_payment"]["ok"] is True
