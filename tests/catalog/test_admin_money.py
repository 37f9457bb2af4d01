"""Staff type prices and overrides in currency units ("185.00"); the database
keeps minor units. Typing 185 puts a pair on sale at $185, not $1.85."""

from __future__ import annotations

import pytest

from catalog.models import Product, Variant
from tests.catalog.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _product_form(product: Product, variants: list[Variant], **changes) -> dict:
    form = {
        "brand": product.brand_id,
        "name": product.name,
        "slug": product.slug,
        "colorway": product.colorway,
        "style_code": product.style_code,
        "description": product.description,
        "price_amount": "",
        "currency": product.currency,
        "max_per_size": product.max_per_size,
        "release_date": product.release_date.isoformat(),
        "is_active": "on",
        "variants-TOTAL_FORMS": len(variants),
        "variants-INITIAL_FORMS": len(variants),
        "variants-MIN_NUM_FORMS": 0,
        "variants-MAX_NUM_FORMS": 1000,
        "images-TOTAL_FORMS": 0,
        "images-INITIAL_FORMS": 0,
        "images-MIN_NUM_FORMS": 0,
        "images-MAX_NUM_FORMS": 1000,
    }
    for index, variant in enumerate(variants):
        form.update(
            {
                f"variants-{index}-id": variant.pk,
                f"variants-{index}-product": product.pk,
                f"variants-{index}-size_scheme": variant.size_scheme,
                f"variants-{index}-size": str(variant.size),
                f"variants-{index}-sku": variant.sku,
                f"variants-{index}-price_override_amount": "",
                f"variants-{index}-stock_on_hand": variant.stock_on_hand,
            }
        )
    form.update(changes)
    return form


def test_prices_are_typed_and_shown_in_currency_units(admin_client):
    product = ProductFactory(price_amount=12345)
    variant = VariantFactory(product=product, price_override_amount=9950)
    url = f"/admin/catalog/product/{product.pk}/change/"

    page = admin_client.get(url).text
    assert 'value="123.45"' in page
    assert 'value="99.50"' in page
    assert "12345" not in page
    assert "9950" not in page
    assert "123.45 USD" in admin_client.get("/admin/catalog/product/").text
    assert "99.50 USD" in admin_client.get("/admin/catalog/variant/").text

    form = _product_form(
        product, [variant], price_amount="185", **{"variants-0-price_override_amount": "175.5"}
    )
    assert admin_client.post(url, form).status_code == 302
    variant.refresh_from_db()
    assert (Product.objects.get(pk=product.pk).price_amount, variant.price_override_amount) == (
        18500,
        17550,
    )


def test_more_decimals_than_the_currency_has_are_refused_not_rounded(admin_client):
    product = ProductFactory(price_amount=12345)
    variant = VariantFactory(product=product, price_override_amount=None)
    url = f"/admin/catalog/product/{product.pk}/change/"

    refused = admin_client.post(url, _product_form(product, [variant], price_amount="185.005"))
    assert refused.status_code == 200
    assert "USD has 2 decimal places at most; 185.005 has more." in refused.text
    assert 'value="185.005"' in refused.text  # what was typed stays in the box
    override = admin_client.post(
        url,
        _product_form(
            product, [variant], price_amount="185", **{"variants-0-price_override_amount": "1.001"}
        ),
    )
    assert "USD has 2 decimal places at most" in override.text
    assert (
        "Enter at least 0.01 USD."
        in admin_client.post(url, _product_form(product, [variant], price_amount="0")).text
    )
    assert Product.objects.get(pk=product.pk).price_amount == 12345
    assert Variant.objects.get(pk=variant.pk).price_override_amount is None


def test_a_zero_decimal_currency_takes_whole_amounts(admin_client):
    product = ProductFactory(price_amount=18000, currency="JPY")
    variant = VariantFactory(product=product, price_override_amount=None)
    url = f"/admin/catalog/product/{product.pk}/change/"
    assert 'value="18000"' in admin_client.get(url).text
    assert (
        "JPY has no decimal places"
        in admin_client.post(url, _product_form(product, [variant], price_amount="18000.50")).text
    )
    assert (
        admin_client.post(url, _product_form(product, [variant], price_amount="19500")).status_code
        == 302
    )
    assert Product.objects.get(pk=product.pk).price_amount == 19500
