"""Catalog writes. Each one revalidates exactly the cache tags whose content it
changes, once its transaction commits (see docs/catalog.md for the tag map)."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from catalog.exceptions import InvalidImage, StockError
from catalog.models import Brand, Product, ProductImage, Variant
from rdk.audit import audit_record
from rdk.cachetags import revalidate_tag

logger = logging.getLogger(__name__)


def product_tags(product_id: int) -> tuple[str, str]:
    """Tags to revalidate when a product's page or card changes: its own tag and
    `catalog`, which every listing (home, /products, facets, the API list) carries."""
    return (f"product:{product_id}", "catalog")


def brand_tags(brand_id: int) -> tuple[str, str]:
    return (f"brand:{brand_id}", "catalog")


def product_revalidate(*, product_ids: list[int], reason: str) -> None:
    """For writes that bypass the ORM's signals (bulk updates, F() stock changes):
    revalidate every listed product and the listings."""
    tags = [f"product:{product_id}" for product_id in dict.fromkeys(product_ids)]
    if tags:
        revalidate_tag(*tags, "catalog", reason=reason)


def product_stock_changed(*, product_id: int, availability_changed: bool, reason: str) -> None:
    """Stock moved by an F() update (orders' reservations): the product's own
    pages are stale; listings (sold-out badges, the in-stock and size filters)
    only when a size sold out or came back, so checkouts do not flush them all."""
    tags = [f"product:{product_id}", *(["catalog"] if availability_changed else [])]
    revalidate_tag(*tags, reason=reason)


@transaction.atomic
def variant_stock_set(
    *, variant_id: int, on_hand: int, reason: str = "stock count", actor: str = "system:catalog"
) -> Variant:
    """Set a size's stock on hand (a stock count); never below what is reserved."""
    variant = Variant.objects.select_for_update().get(pk=variant_id)
    if on_hand < variant.stock_reserved:
        raise StockError(
            f"{variant.sku} has {variant.stock_reserved} pair(s) reserved; "
            f"stock on hand cannot go below that (asked for {on_hand})."
        )
    before = variant.stock_on_hand
    variant.stock_on_hand = on_hand
    variant.save(update_fields=["stock_on_hand"])
    audit_record(
        action="stock.adjust",
        actor=actor,
        target=variant.sku,
        reason=reason,
        before={"stock_on_hand": before},
        after={"stock_on_hand": on_hand},
    )
    logger.info("catalog.stock_set", extra={"sku": variant.sku, "on_hand": on_hand})
    return variant


@transaction.atomic
def product_price_set(
    *, product_id: int, price_amount: int, actor: str = "system:catalog"
) -> Product:
    if price_amount <= 0:
        raise StockError("A price must be more than zero.", code="invalid_price")
    product = Product.objects.select_for_update().get(pk=product_id)
    before = product.price_amount
    product.price_amount = price_amount
    product.save(update_fields=["price_amount", "updated_at"])
    audit_record(
        action="product.change",
        actor=actor,
        target=str(product),
        before={"price_amount": before},
        after={"price_amount": price_amount},
    )
    return product


@transaction.atomic
def product_active_set(*, product_id: int, active: bool) -> Product:
    product = Product.objects.select_for_update().get(pk=product_id)
    product.is_active = active
    product.save(update_fields=["is_active", "updated_at"])
    return product


@transaction.atomic
def product_image_add(
    *, product: Product, file: UploadedFile, alt_text: str, position: int = 0
) -> ProductImage:
    """Store an uploaded image after checking its content (not its name)."""
    image = ProductImage(product=product, image=file, alt_text=alt_text, position=position)
    try:
        image.full_clean()
    except ValidationError as exc:
        raise InvalidImage("; ".join(exc.messages)) from None
    image.save()
    return image


@transaction.atomic
def brand_rename(*, brand_id: int, name: str) -> Brand:
    brand = Brand.objects.select_for_update().get(pk=brand_id)
    brand.name = name
    brand.full_clean()
    brand.save(update_fields=["name"])
    return brand
