"""The audit log sees the business: refunds, cancellations, shipping, product,
price and stock changes, each with actor, time, request id and the values
before and after (staff sign-ins: tests/opsadmin/test_signin.py)."""

from __future__ import annotations

import pytest

from catalog.models import Product
from catalog.services import product_price_set, variant_stock_set
from opsadmin.models import AuditEntry
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.catalog.test_admin_money import _product_form
from tests.orders.factories import UserFactory, order_for
from tests.orders.payment_helpers import paid_order

pytestmark = pytest.mark.django_db


def test_a_staff_refund_and_cancel_are_audited_with_the_request(admin_client, client, standin):
    staff = admin_client.staff.user
    _, _, order = paid_order(client, standin, price=10000)
    admin_client.post(
        f"/admin/orders/order/{order.pk}/refund/", {"amount": "25.50", "confirm": "on"}
    )
    entry = AuditEntry.objects.get(action="order.refund", target=order.number)
    assert entry.actor == f"staff:{staff.pk}"
    assert entry.request_id  # the admin request's id
    assert entry.at is not None
    assert entry.details["amount"] == "$25.50"
    assert entry.details["before"] == {"status": "paid", "refunded_amount": 0}
    assert entry.details["after"] == {"status": "partially_refunded", "refunded_amount": 2550}

    pending = order_for(UserFactory(), VariantFactory())
    admin_client.post(
        "/admin/orders/order/", {"action": "cancel", "_selected_action": [pending.pk]}
    )
    cancel = AuditEntry.objects.get(action="order.cancel", target=pending.number)
    assert cancel.actor == f"staff:{staff.pk}"
    assert (cancel.details["before"], cancel.details["after"]) == (
        {"status": "pending_payment"},
        {"status": "canceled"},
    )


def test_product_price_and_stock_changes_in_the_admin_are_audited(admin_client):
    staff = admin_client.staff.user
    product = ProductFactory(price_amount=12345)
    variant = VariantFactory(product=product, stock_on_hand=3)
    form = _product_form(
        product,
        [variant],
        price_amount="185.00",
        **{"variants-0-stock_on_hand": 5, "variants-0-price_override_amount": "99.00"},
    )
    response = admin_client.post(f"/admin/catalog/product/{product.pk}/change/", form)
    assert response.status_code == 302
    price = AuditEntry.objects.get(action="product.change")
    assert (price.actor, price.target) == (f"staff:{staff.pk}", str(product))
    assert (price.details["before"], price.details["after"]) == (
        {"price_amount": 12345},
        {"price_amount": 18500},
    )
    assert price.request_id
    stock = AuditEntry.objects.get(action="stock.adjust", target=variant.sku)
    assert stock.details["before"] == {"stock_on_hand": 3, "price_override_amount": None}
    assert stock.details["after"] == {"stock_on_hand": 5, "price_override_amount": 9900}


def test_catalog_services_audit_their_writes():
    product = ProductFactory(price_amount=12000)
    variant = VariantFactory(product=product, stock_on_hand=2)
    product_price_set(product_id=product.pk, price_amount=13000, actor="ops:cli")
    variant_stock_set(variant_id=variant.pk, on_hand=7, actor="ops:cli")
    assert Product.objects.get(pk=product.pk).price_amount == 13000
    entries = {e.action: e for e in AuditEntry.objects.filter(actor="ops:cli")}
    assert entries["product.change"].details["after"] == {"price_amount": 13000}
    assert entries["stock.adjust"].details["before"] == {"stock_on_hand": 2}
