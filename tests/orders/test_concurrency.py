"""Never oversell: many buyers race for the last pair(s) of a size on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from catalog.models import Variant
from orders.exceptions import CartChanged, CartEmpty, OutOfStock
from orders.models import Order, Reservation
from orders.services.cart import DbCartStore, cart_add
from orders.services.checkout import order_place
from rdk.rls import rls_scope, rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import SHIP_TO, UserFactory

BUYERS = 12

pytestmark = [pytest.mark.postgres, pytest.mark.pooler, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("round_", range(5))
def test_exactly_one_buyer_gets_the_last_pair(round_):
    variant = VariantFactory(stock_on_hand=2)
    buyers = [UserFactory() for _ in range(BUYERS)]
    for buyer in buyers:
        with rls_scope(user=buyer):
            cart_add(store=DbCartStore(buyer), variant_id=variant.pk, quantity=2)

    start = threading.Barrier(BUYERS)
    won: list[int] = []
    lost: list[int] = []
    failed: list[BaseException] = []

    def buy(buyer) -> None:
        try:
            start.wait()
            with rls_scope(user=buyer):
                order_place(user=buyer, store=DbCartStore(buyer), ship_to=SHIP_TO)
            won.append(buyer.pk)
        except (OutOfStock, CartChanged):
            # OutOfStock: lost the race while reserving; CartChanged: the
            # winner had already committed, so the cart re-check saw it sold out.
            lost.append(buyer.pk)
        except BaseException as error:  # surfaced below, never swallowed
            failed.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failed == []
    assert len(won) == 1
    assert len(lost) == BUYERS - 1
    variant = Variant.objects.get(pk=variant.pk)
    assert variant.stock_reserved == 2
    assert variant.stock_available == 0
    with rls_service_scope():
        assert Order.objects.count() == 1
        assert Order.objects.get().user_id == won[0]
        assert sum(r.quantity for r in Reservation.objects.all()) == 2


def test_one_shopper_checking_out_in_several_tabs_places_one_order():
    """The per-shopper limit counts the shopper's own orders, so two checkouts of
    the same cart at once must not both pass it: they take turns on the cart row."""
    variant = VariantFactory(stock_on_hand=20, product__max_per_size=2)
    buyer = UserFactory()
    with rls_scope(user=buyer):
        cart_add(store=DbCartStore(buyer), variant_id=variant.pk, quantity=2)

    tabs = 6
    start = threading.Barrier(tabs)
    placed: list[str] = []
    refused: list[str] = []
    failed: list[BaseException] = []

    def check_out() -> None:
        try:
            start.wait()
            with rls_scope(user=buyer):
                placed.append(
                    order_place(user=buyer, store=DbCartStore(buyer), ship_to=SHIP_TO).number
                )
        except (CartEmpty, CartChanged) as error:
            refused.append(str(error))
        except BaseException as error:  # surfaced below, never swallowed
            failed.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=check_out) for _ in range(tabs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failed == []
    assert len(placed) == 1
    assert len(refused) == tabs - 1
    assert Variant.objects.get(pk=variant.pk).stock_reserved == 2
