import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog import services
from catalog.demo import sneaker_image
from catalog.exceptions import InvalidImage, StockError
from rdk.cachetags import tag_versions
from tests.catalog.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_stock_set_revalidates_the_product_and_listings_after_commit():
    variant = VariantFactory()
    tags = [f"product:{variant.product_id}", "catalog", "product:999999"]
    before = tag_versions(tags)
    services.variant_stock_set(variant_id=variant.pk, on_hand=0)
    after = tag_versions(tags)
    assert after[tags[0]] != before[tags[0]]
    assert after["catalog"] != before["catalog"]
    assert after["product:999999"] == before["product:999999"]


def test_stock_cannot_go_below_reserved():
    variant = VariantFactory(stock_on_hand=3, stock_reserved=2)
    with pytest.raises(StockError, match="reserved"):
        services.variant_stock_set(variant_id=variant.pk, on_hand=1)
    variant.refresh_from_db()
    assert variant.stock_on_hand == 3


def test_image_is_accepted_by_content_whatever_its_name(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    product = ProductFactory()
    jpeg = sneaker_image(brand="Nike", model="Dunk", primary="#111111", secondary="#eeeeee")
    upload = SimpleUploadedFile("photo.png", jpeg, content_type="image/png")
    image = services.product_image_add(product=product, file=upload, alt_text="Nike Dunk")
    assert image.pk
    assert image.image.name.startswith("products/")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<?php echo 1; ?>", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"broken" * 20, "not an image"),
    ],
)
def test_image_that_is_not_an_image_is_refused(settings, tmp_path, content, message):
    settings.MEDIA_ROOT = str(tmp_path)
    upload = SimpleUploadedFile("shoe.jpg", content, content_type="image/jpeg")
    with pytest.raises(InvalidImage, match=message):
        services.product_image_add(product=ProductFactory(), file=upload, alt_text="x")


def test_image_of_a_refused_format_or_size_is_refused(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300)).save(buffer, "GIF")
    upload = SimpleUploadedFile("shoe.jpg", buffer.getvalue())
    with pytest.raises(InvalidImage, match="GIF"):
        services.product_image_add(product=ProductFactory(), file=upload, alt_text="x")
    buffer = io.BytesIO()
    Image.new("RGB", (50, 50)).save(buffer, "PNG")
    with pytest.raises(InvalidImage, match="50×50"):
        services.product_image_add(
            product=ProductFactory(),
            file=SimpleUploadedFile("tiny.png", buffer.getvalue()),
            alt_text="x",
        )
