"""Reservations refresh the product's pages always, and the listings (sold-out
badges, in-stock and size filters) only when a size sells out or comes back."""

from __future__ import annotations

import pytest

from orders.services.reservations import reservation_release_for_order
from rdk.cachetags import tag_versions
from rdk.rls import rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import UserFactory, order_for

pytestmark = pytest.mark.django_db


def test_listings_refresh_only_when_availability_flips(django_capture_on_commit_callbacks):
    variant = VariantFactory(stock_on_hand=2)
    tags = ["catalog", f"product:{variant.product_id}"]

    def bumps(action) -> dict[str, int]:
        before = tag_versions(tags)
        with django_capture_on_commit_callbacks(execute=True):
            result = action()
        after = tag_versions(tags)
        bumps.result = result
        return {tag: after[tag] - before[tag] for tag in tags}

    first = bumps(lambda: order_for(UserFactory(), variant))  # 1 of 2 held: still available
    assert first == {"catalog": 0, f"product:{variant.product_id}": 1}
    last = bumps(lambda: order_for(UserFactory(), variant))  # the last pair: sold out
    assert last == {"catalog": 1, f"product:{variant.product_id}": 1}
    order = bumps.result

    def release():
        with rls_service_scope():  # as the payments side calls it
            return reservation_release_for_order(order, reason="session expired")

    back = bumps(release)
    assert back == {"catalog": 1, f"product:{variant.product_id}": 1}
