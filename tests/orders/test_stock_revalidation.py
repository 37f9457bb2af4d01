"""Reservations refresh the product's pages when what can be bought changes,
and the listings (sold-out badges, in-stock and size filters) only when a
size sells out or comes back. A sale changes neither: nothing is revalidated."""

from __future__ import annotations

import pytest

from orders.services.lifecycle import order_mark_paid
from orders.services.reservations import reservation_release_for_order
from rdk.cachetags import tag_versions
from rdk.rls import rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import UserFactory, order_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def revalidated(django_capture_on_commit_callbacks):
    """Run an action (committed) and say which tags it revalidated."""

    def run(action, tags: list[str]) -> dict[str, bool]:
        before = tag_versions(tags)
        with django_capture_on_commit_callbacks(execute=True):
            run.result = action()
        after = tag_versions(tags)
        return {tag: after[tag] != before[tag] for tag in tags}

    return run


def test_listings_refresh_only_when_availability_flips(revalidated):
    variant = VariantFactory(stock_on_hand=2)
    product = f"product:{variant.product_id}"
    tags = ["catalog", product]

    first = revalidated(lambda: order_for(UserFactory(), variant), tags)  # 1 of 2 held
    assert first == {"catalog": False, product: True}
    last = revalidated(lambda: order_for(UserFactory(), variant), tags)  # the last pair
    assert last == {"catalog": True, product: True}
    order = revalidated.result

    def release():
        with rls_service_scope():  # as the payments side calls it
            return reservation_release_for_order(order, reason="session expired")

    assert revalidated(release, tags) == {"catalog": True, product: True}


def test_a_sale_revalidates_nothing(revalidated):
    """Paying takes the pairs out of on-hand and reserved alike: what a shopper
    can buy is unchanged, so no page is made stale (and no Redis round trip is
    spent on it in the webhook)."""
    variant = VariantFactory(stock_on_hand=2)
    order = order_for(UserFactory(), variant, quantity=2)  # the size is sold out
    tags = ["catalog", f"product:{variant.product_id}"]

    def pay():
        with rls_service_scope():
            return order_mark_paid(
                order=order, payment_reference="pi_1", amount=order.total_amount, actor="t"
            )

    assert revalidated(pay, tags) == {"catalog": False, tags[1]: False}
    assert revalidated.result.status == "paid"
