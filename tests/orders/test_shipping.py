"""Shipping with carrier and tracking number: the services, the admin page and
bulk action, and what the shopper sees."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from opsadmin.models import AuditEntry
from orders.carriers import CARRIERS, tracking_number_clean
from orders.exceptions import InvalidTransition, ShippingInvalid
from orders.models import OrderEventKind, OrderStatus
from orders.services.shipping import order_ship, order_tracking_correct
from rdk.rls import rls_service_scope
from tests.orders.payment_helpers import load, paid_order, placed_order, refund
from tests.staff import Staff, verified_login

pytestmark = pytest.mark.django_db

UPS = "1Z999AA10123456784"


def ship(order, carrier="ups", number=UPS):
    with rls_service_scope():
        return order_ship(order=order, carrier=carrier, tracking_number=number, actor="staff:7")


@pytest.mark.parametrize(
    ("carrier", "typed", "stored"),
    [
        ("ups", "1z 999 aa1 0123 4567 84", UPS),
        ("usps", "9400 1118 9922 3100 0000 00", "9400111899223100000000"),
        ("fedex", "1234-5678-9012", "123456789012"),
        ("dhl", "1234567890", "1234567890"),
        ("royal_mail", "ab123456789gb", "AB123456789GB"),
        ("canada_post", "1234567890123456", "1234567890123456"),
    ],
)
def test_tracking_numbers_are_normalised_per_carrier(carrier, typed, stored):
    assert tracking_number_clean(carrier=CARRIERS[carrier], number=typed) == stored


@pytest.mark.parametrize(
    ("carrier", "typed"), [("ups", "1234567890"), ("dhl", UPS), ("royal_mail", "AB123456789US")]
)
def test_a_number_of_another_format_is_refused(carrier, typed):
    with pytest.raises(ShippingInvalid, match="they look like"):
        tracking_number_clean(carrier=CARRIERS[carrier], number=typed)


def test_shipping_a_paid_order_then_a_partial_refund_keeps_it_shipped(client, standin):
    user, _, order = paid_order(client, standin, price=20000)
    order = ship(order)
    assert (order.status, order.carrier, order.tracking_number) == ("shipped", "ups", UPS)
    assert order.shipped_at is not None
    with rls_service_scope():
        event = order.events.last()
    assert (event.from_status, event.to_status, event.actor) == ("paid", "shipped", "staff:7")
    assert event.note == f"Shipped with UPS, tracking {UPS}"
    audit = AuditEntry.objects.get(action="order.ship", target=order.number)
    assert audit.details["after"] == {"carrier": "ups", "tracking_number": UPS}

    refund(order, 5000)
    order = load(order)
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert (order.payment_state, order.shipping_state) == ("Partially refunded", "Shipped")

    client.force_login(user)
    page = client.get(order.get_absolute_url()).text
    assert ">Partially refunded</span>" in page
    assert '<span class="status status-shipped">Shipped</span>' in page
    assert f'href="https://www.ups.com/track?tracknum={UPS}"' in page
    assert "Refunded $50.00" in page

    with pytest.raises(InvalidTransition, match="already shipped"):
        ship(order)


def test_only_a_paid_order_ships_and_bad_input_changes_nothing(client, standin):
    _, _, pending = placed_order()
    with pytest.raises(InvalidTransition, match="cannot become shipped"):
        ship(pending)
    _, _, order = paid_order(client, standin)
    with pytest.raises(ShippingInvalid, match="Choose a carrier"):
        ship(order, carrier="pigeon")
    with pytest.raises(ShippingInvalid, match="not a UPS tracking number"):
        ship(order, number="12")
    order = load(order)
    assert (order.status, order.shipped_at, order.tracking_number) == ("paid", None, "")


def test_correcting_tracking_is_on_the_timeline_and_audited(client, standin, settings):
    _, _, order = paid_order(client, standin)
    ship(order)
    with rls_service_scope():
        order = order_tracking_correct(
            order=order, carrier="dhl", tracking_number="1234567890", actor="staff:8"
        )
        event = order.events.last()
    assert (order.carrier, order.tracking_number) == ("dhl", "1234567890")
    assert event.kind == OrderEventKind.TRACKING
    assert event.note == f"Tracking is now DHL Express 1234567890 (was {UPS})"
    entry = AuditEntry.objects.get(action="order.tracking_correct")
    assert (entry.actor, entry.target) == ("staff:8", order.number)
    assert entry.details["before"] == {"carrier": "ups", "tracking_number": UPS}
    assert entry.details["after"] == {"carrier": "dhl", "tracking_number": "1234567890"}

    settings.SHIPPING_CARRIERS = ["ups"]  # DHL no longer offered
    with rls_service_scope(), pytest.raises(ShippingInvalid, match=r"Choose a carrier.*UPS"):
        order_tracking_correct(order=order, carrier="dhl", tracking_number="1", actor="staff:8")


def test_admin_ships_one_order_and_corrects_its_tracking(admin_client, client, standin):
    _, _, order = paid_order(client, standin)
    change = admin_client.get(f"/admin/orders/order/{order.pk}/change/").text
    assert "Mark shipped…" in change
    url = f"/admin/orders/order/{order.pk}/ship/"
    assert "Tracking number" in admin_client.get(url).text
    bad = admin_client.post(url, {"carrier": "ups", "tracking_number": "nope"})
    assert "not a UPS tracking number" in bad.text
    assert load(order).shipped_at is None
    done = admin_client.post(url, {"carrier": "ups", "tracking_number": UPS}, follow=True)
    assert f"Marked shipped: order {order.number}, UPS {UPS}." in done.text
    assert f"https://www.ups.com/track?tracknum={UPS}" in done.text
    assert "Correct tracking…" in done.text
    fixed = admin_client.post(
        url, {"carrier": "fedex", "tracking_number": "123456789012"}, follow=True
    )
    assert "Tracking corrected" in fixed.text
    assert load(order).tracking_number == "123456789012"
    staff = admin_client.staff.user
    assert AuditEntry.objects.get(action="order.tracking_correct").actor == f"staff:{staff.pk}"


def test_bulk_mark_shipped_asks_each_order_s_tracking_first(admin_client, client, standin):
    _, _, first = paid_order(client, standin)
    _, _, second = paid_order(client, standin)
    selected = {"action": "mark_shipped", "_selected_action": [first.pk, second.pk]}
    page = admin_client.post("/admin/orders/order/", selected)
    assert page.status_code == 200
    assert f'name="ship-{first.pk}-tracking_number"' in page.text
    assert load(first).shipped_at is None  # nothing happens before the details are given

    answer = {
        **selected,
        "ship": "Mark shipped",
        f"ship-{first.pk}-carrier": "ups",
        f"ship-{first.pk}-tracking_number": UPS,
        f"ship-{second.pk}-carrier": "ups",
        f"ship-{second.pk}-tracking_number": "wrong",
    }
    again = admin_client.post("/admin/orders/order/", answer, follow=True)
    assert "1 order(s) marked shipped." in again.text
    assert "not a UPS tracking number" in again.text  # the second is asked again
    assert f'name="ship-{first.pk}-tracking_number"' not in again.text
    assert (load(first).status, load(second).status) == ("shipped", "paid")


@pytest.mark.parametrize("role", ["Fulfilment", "Support"])
def test_every_role_that_views_an_order_sees_its_pairs_and_timeline(client, standin, role):
    """Fulfilment packs what the order page lists: its lines and timeline are
    shown to whoever may view the order, not to superusers only."""
    _, _, order = paid_order(client, standin)
    staff = Staff(role.lower())
    staff.user.is_superuser = False
    staff.user.save(update_fields=["is_superuser"])
    staff.user.groups.add(Group.objects.get(name=role))
    desk = Client()
    verified_login(desk, staff)

    page = desk.get(f"/admin/orders/order/{order.pk}/change/")

    assert page.status_code == 200
    with rls_service_scope():
        line = order.lines.get()
    assert f"{line.quantity} × {line.product_name} {line.size_label}" in page.text
    assert "Order placed; stock reserved." in page.text  # the first timeline entry
    assert 'name="orderline_set-0-quantity"' not in page.text  # read-only
