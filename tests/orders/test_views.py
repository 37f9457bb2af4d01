from __future__ import annotations

import uuid

import pytest

from orders.models import OrderStatus
from rdk.rls import rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import UserFactory, order_for

pytestmark = pytest.mark.django_db


def test_history_and_detail_show_the_shoppers_orders(client, django_assert_max_num_queries):
    user = UserFactory()
    orders = [order_for(user, VariantFactory()) for _ in range(3)]
    client.force_login(user)
    client.get("/account/orders")  # the first request of a session also records its activity
    # The scope (savepoint, set_config, restore, release: nested in the test's
    # transaction), the orders with the count of abandoned checkouts, their
    # lines. It was 12 at most: the user and a separate count are gone.
    with django_assert_max_num_queries(6):
        response = client.get("/account/orders")
    assert all(order.number in response.text for order in orders)
    response = client.get(orders[0].get_absolute_url())
    assert response.status_code == 200
    assert "Awaiting payment" in response.text
    assert "Order placed; stock reserved." in response.text


@pytest.mark.parametrize("path", ["{other}", str(uuid.uuid4()), "not-a-uuid", "1"])
def test_other_or_unknown_order_ids_are_404(client, path):
    other = order_for(UserFactory(), VariantFactory())
    client.force_login(UserFactory())
    response = client.get("/account/orders/" + path.format(other=other.public_id))
    assert response.status_code == 404
    response = client.post(f"/account/orders/{other.public_id}/cancel")
    assert response.status_code == 404


def test_shopper_cancels_a_pending_order(client):
    user = UserFactory()
    order = order_for(user, VariantFactory())
    client.force_login(user)
    response = client.post(f"/account/orders/{order.public_id}/cancel", follow=True)
    assert "canceled; the pairs are back on sale" in response.text
    with rls_service_scope():
        order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED


def test_admin_searches_and_acts_through_the_services(admin_client):
    client = admin_client
    staff = client.staff.user
    order = order_for(UserFactory(email="findme@example.com"), VariantFactory())
    for query in (order.number, "findme@", "pending_payment"):
        response = client.get("/admin/orders/order/", {"q": query})
        assert order.number in response.text, query
    response = client.post(
        "/admin/orders/order/",
        {
            "action": "mark_shipped",
            "_selected_action": [order.pk],
            "ship": "Mark shipped",
            f"ship-{order.pk}-carrier": "ups",
            f"ship-{order.pk}-tracking_number": "1Z999AA10123456784",
        },
        follow=True,
    )
    assert "cannot become shipped" in response.text
    response = client.post(
        "/admin/orders/order/", {"action": "cancel", "_selected_action": [order.pk]}, follow=True
    )
    assert "1 order(s) canceled" in response.text
    with rls_service_scope():
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELED
        assert order.events.last().actor == f"staff:{staff.pk}"


def test_history_hides_payment_attempts_canceled_before_payment_and_counts_pairs(client):
    from orders.services.lifecycle import order_cancel

    user = UserFactory()
    kept = order_for(user, VariantFactory(), quantity=2)
    dropped = order_for(user, VariantFactory())
    with rls_service_scope():
        order_cancel(order=dropped, actor="test", reason="shopper went back")
    client.force_login(user)
    html = client.get("/account/orders").text
    assert kept.number in html
    assert "2 pairs" in html
    assert dropped.number not in html
    assert "1 checkout canceled before payment is not shown" in html
