"""Staff product entry in the admin: a whole size run in one step with stock
per size, SKUs made from the style code and size, clear errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Product, Variant
from tests.catalog.factories import BrandFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/catalog/product/add/"


def product_form(brand, **extra) -> dict:
    data = {
        "brand": brand.pk,
        "name": "Air Max 95",
        "slug": "air-max-95",
        "colorway": "Neon",
        "style_code": "dz5485-612",
        "description": "",
        "price_amount": 18000,
        "currency": "USD",
        "max_per_size": 2,
        "release_date": "2026-03-01",
        "is_active": "on",
        "run_scheme": "US",
        "run_step": "0.5",
        "run_stock": "0",
        "variants-TOTAL_FORMS": "0",
        "variants-INITIAL_FORMS": "0",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
    }
    data.update(extra)
    return data


def test_a_whole_size_run_with_stock_per_size_in_one_step(admin_client):
    brand = BrandFactory(name="Nike", slug="nike")
    response = admin_client.post(
        ADD,
        product_form(
            brand,
            run_from="7",
            run_to="13",
            run_stock="3",
            run_stock_by_size="9=5, 12.5=0",
        ),
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    product = Product.objects.get(slug="air-max-95")
    sizes = {v.size: v for v in Variant.objects.filter(product=product)}
    assert sorted(sizes) == [Decimal("7") + Decimal("0.5") * i for i in range(13)]
    assert sizes[Decimal("9")].stock_on_hand == 5
    assert sizes[Decimal("12.5")].stock_on_hand == 0
    assert sizes[Decimal("7")].stock_on_hand == 3
    assert sizes[Decimal("9.5")].sku == "DZ5485-612-9.5"
    assert sizes[Decimal("10")].sku == "DZ5485-612-10"


def test_a_size_row_without_sku_gets_one_and_clashes_are_errors(admin_client):
    brand = BrandFactory(name="Nike", slug="nike")
    VariantFactory(product=ProductFactory(), sku="DZ5485-612-11")
    rows = {
        "variants-TOTAL_FORMS": "2",
        "variants-0-size_scheme": "US",
        "variants-0-size": "10",
        "variants-0-sku": "",
        "variants-0-stock_on_hand": "4",
        "variants-1-size_scheme": "US",
        "variants-1-size": "11",
        "variants-1-sku": "",
        "variants-1-stock_on_hand": "1",
    }
    response = admin_client.post(ADD, product_form(brand, **rows))
    assert response.status_code == 200
    assert "SKU DZ5485-612-11 is already used" in response.content.decode()
    assert not Product.objects.filter(slug="air-max-95").exists()
    rows["variants-1-sku"] = "DZ5485-612-11-B"
    response = admin_client.post(ADD, product_form(brand, **rows))
    assert response.status_code == 302
    skus = set(Variant.objects.filter(product__slug="air-max-95").values_list("sku", flat=True))
    assert skus == {"DZ5485-612-10", "DZ5485-612-11-B"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"run_from": "7"}, "Give both ends of the run."),
        ({"run_from": "9", "run_to": "7"}, "The last size must not be below the first."),
        ({"run_from": "7.5", "run_to": "9", "run_step": "1"}, "multiples of 1"),
        ({"run_from": "7", "run_to": "9", "run_stock_by_size": "nine=2"}, "is not size=pairs"),
    ],
)
def test_bad_size_runs_are_explained(admin_client, extra, message):
    brand = BrandFactory(name="Nike", slug="nike")
    response = admin_client.post(ADD, product_form(brand, **extra))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Product.objects.exists()


def test_an_uploaded_image_is_kept_across_a_validation_error(admin_client, settings, tmp_path):
    import io
    import re

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.MEDIA_ROOT = str(tmp_path)
    brand = BrandFactory(name="Nike", slug="nike")
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), "orange").save(buffer, "PNG")
    upload = SimpleUploadedFile("side.png", buffer.getvalue(), content_type="image/png")
    images = {
        "images-TOTAL_FORMS": "1",
        "images-0-alt_text": "Side view",
        "images-0-position": "0",
    }
    response = admin_client.post(
        ADD, product_form(brand, name="", **images, **{"images-0-image": upload})
    )
    assert response.status_code == 200  # the name is missing
    html = response.content.decode()
    assert "Image kept from your last try" in html
    token = re.search(r'name="images-0-pending_image" value="([^"]+)"', html)[1]

    response = admin_client.post(
        ADD, product_form(brand, **images, **{"images-0-pending_image": token})
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    image = Product.objects.get(slug="air-max-95").images.get()
    assert image.alt_text == "Side view"
    assert image.image.name.endswith(".png")
    with Image.open(image.image.path) as saved:
        assert saved.size == (400, 300)

    forged = admin_client.post(
        ADD, product_form(brand, slug="other", **images, **{"images-0-pending_image": "x:y"})
    )
    assert "has expired; choose it again" in forged.content.decode()
