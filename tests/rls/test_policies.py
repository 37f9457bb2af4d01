"""The runbook's test:rls: row security on shopper data, proven at the database.

Runs as the role RDK connects as (`rdk`: not a superuser, not BYPASSRLS),
which owns the tables; FORCE ROW LEVEL SECURITY binds it all the same."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection

from orders.models import CartItem, Order, OrderEvent, OrderLine, Profile, Reservation
from orders.rowsecurity import PROTECTED
from rdk.rls import rls_current, rls_scope, rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import UserFactory, order_for

pytestmark = [pytest.mark.rls, pytest.mark.django_db]


@pytest.fixture
def world():
    """Shoppers A and B with one order each (A's with a saved cart line too)."""
    a, b = UserFactory(), UserFactory()
    order_a = order_for(a, VariantFactory())
    order_b = order_for(b, VariantFactory())
    from orders.services.cart import DbCartStore, cart_add

    with rls_scope(user=a):
        cart_add(store=DbCartStore(a), variant_id=VariantFactory().pk, quantity=1)
    return {"a": a, "b": b, "order_a": order_a, "order_b": order_b}


def _raw_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def test_connected_role_is_bound_by_row_security():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)


# select ----------------------------------------------------------------------


def test_owner_selects_only_own_rows_through_the_orm(world):
    with rls_scope(user=world["a"]):
        assert list(Order.objects.all()) == [world["order_a"]]
        assert {line.order_id for line in OrderLine.objects.all()} == {world["order_a"].pk}
        assert {event.order_id for event in OrderEvent.objects.all()} == {world["order_a"].pk}
        assert {r.order_id for r in Reservation.objects.all()} == {world["order_a"].pk}
        assert [p.user_id for p in Profile.objects.all()] == [world["a"].pk]
        assert CartItem.objects.count() == 1


def test_raw_sql_under_a_scope_sees_only_that_shoppers_rows(world):
    with rls_service_scope():
        totals = {item.table: _raw_count(item.table) for item in PROTECTED}
    with rls_scope(user=world["a"]):
        with connection.cursor() as cursor:
            cursor.execute("SELECT user_id FROM orders_order")
            assert [row[0] for row in cursor.fetchall()] == [world["a"].pk]
        mine = {item.table: _raw_count(item.table) for item in PROTECTED}
    for table, count in mine.items():
        assert 0 < count < totals[table] or table.startswith("orders_cart"), table
    with rls_scope(user=world["b"]):
        assert _raw_count("orders_cartitem") == 0


def test_other_shopper_sees_nothing_of_a(world):
    with rls_scope(user=world["b"]):
        assert not Order.objects.filter(pk=world["order_a"].pk).exists()
        assert not OrderLine.objects.filter(order_id=world["order_a"].pk).exists()
        assert not Profile.objects.filter(user=world["a"]).exists()


def test_no_scope_sees_nothing(world):
    for item in PROTECTED:
        assert _raw_count(item.table) == 0, item.table
    assert Order.objects.count() == 0
    with rls_scope(user=None):
        assert Order.objects.count() == 0


def test_service_scope_sees_everything(world):
    with rls_service_scope():
        assert set(Order.objects.all()) == {world["order_a"], world["order_b"]}
        assert Profile.objects.count() == 2


# insert ----------------------------------------------------------------------


def _new_order(user) -> Order:
    return Order(user=user, email=user.email, currency="USD", subtotal_amount=1, total_amount=1)


def test_owner_inserts_own_order(world):
    with rls_scope(user=world["a"]):
        _new_order(world["a"]).save()
        assert Order.objects.count() == 2


@pytest.mark.parametrize("scope", ["other", "anonymous"])
def test_inserting_a_row_for_someone_else_is_refused(world, scope):
    acting = world["b"] if scope == "other" else None
    with pytest.raises(DatabaseError, match="row-level security"), rls_scope(user=acting):
        _new_order(world["a"]).save()
    with pytest.raises(DatabaseError, match="row-level security"), rls_scope(user=acting):
        OrderEvent.objects.create(order_id=world["order_a"].pk, to_status="paid", actor="x")
    with rls_service_scope():
        assert Order.objects.filter(user=world["a"]).count() == 1


# update ----------------------------------------------------------------------


def test_owner_updates_own_order(world):
    with rls_scope(user=world["a"]):
        assert Order.objects.filter(pk=world["order_a"].pk).update(shipping_address="Here") == 1


@pytest.mark.parametrize("scope", ["other", "anonymous"])
def test_updating_someone_elses_rows_touches_nothing(world, scope):
    acting = world["b"] if scope == "other" else None
    with rls_scope(user=acting):
        assert Order.objects.filter(pk=world["order_a"].pk).update(shipping_address="X") == 0
        assert OrderLine.objects.filter(order_id=world["order_a"].pk).update(quantity=9) == 0
        assert Profile.objects.filter(user=world["a"]).update(full_name="Mallory") == 0
    with rls_service_scope():
        assert Order.objects.get(pk=world["order_a"].pk).shipping_address != "X"


def test_moving_an_order_to_another_owner_is_refused(world):
    with pytest.raises(DatabaseError, match="row-level security"), rls_scope(user=world["a"]):
        Order.objects.filter(pk=world["order_a"].pk).update(user=world["b"])
    with pytest.raises(DatabaseError, match="row-level security"), rls_scope(user=world["a"]):
        OrderLine.objects.filter(order_id=world["order_a"].pk).update(order_id=world["order_b"].pk)
    with rls_service_scope():
        assert Order.objects.get(pk=world["order_a"].pk).user == world["a"]


# delete ----------------------------------------------------------------------


def test_owner_deletes_own_cart_line(world):
    with rls_scope(user=world["a"]):
        assert CartItem.objects.all().delete()[0] == 1


@pytest.mark.parametrize("scope", ["other", "anonymous"])
def test_deleting_someone_elses_rows_deletes_nothing(world, scope):
    acting = world["b"] if scope == "other" else None
    with rls_scope(user=acting):
        assert OrderEvent.objects.filter(order_id=world["order_a"].pk).delete()[0] == 0
        assert CartItem.objects.all().delete()[0] == 0
        assert Profile.objects.filter(user=world["a"]).delete()[0] == 0
    with rls_service_scope():
        assert OrderEvent.objects.filter(order_id=world["order_a"].pk).count() == 1
        assert CartItem.objects.count() == 1


# scope lifetime ----------------------------------------------------------------


def test_a_scope_ends_with_its_block_even_inside_an_outer_transaction(world):
    with rls_scope(user=world["a"]):
        with rls_service_scope():
            assert rls_current() == ("service", "")
        assert rls_current() == ("user", str(world["a"].pk))
    assert rls_current() == ("", "")
    assert Order.objects.count() == 0
