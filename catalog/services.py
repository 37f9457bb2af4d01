"""Catalog writes. Each one revalidates exactly the cache tags whose content it
changes, once its transaction commits (see docs/catalog.md for the tag map)."""

from __future__ import annotations

import io
import logging
import uuid
from decimal import Decimal

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
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
    *, product: Product, file: UploadedFile[bytes], alt_text: str, position: int = 0
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


def variant_sku(*, style_code: str, slug: str, size_scheme: str, size: Decimal) -> str:
    """The SKU a size gets unless staff type one: the style code (or the slug
    when there is none), the scheme when not US, and the size, e.g.
    `DZ5485-612-9.5` or `DZ5485-612-EU-42`."""
    base = style_code.strip().upper() if style_code.strip() else slug
    scheme = "" if size_scheme == "US" else f"-{size_scheme}"
    return f"{base}{scheme}-{size.normalize():f}"[:64]


def size_run(*, first: Decimal, last: Decimal, step: Decimal) -> list[Decimal]:
    """Every size from `first` to `last` inclusive, `step` apart."""
    if step <= 0 or last < first:
        return []
    count = int((last - first) / step) + 1
    return [first + step * index for index in range(count)]


@transaction.atomic
def variants_add_size_run(
    *, product: Product, size_scheme: str, sizes: list[Decimal], stock: dict[Decimal, int]
) -> list[Variant]:
    """Add each size of `sizes` the product does not have yet, with its SKU
    generated (`variant_sku`) and `stock[size]` pairs on hand (0 if absent).
    Returns the sizes added; existing sizes are left as they are."""
    existing = set(
        Variant.objects.filter(product=product, size_scheme=size_scheme).values_list(
            "size", flat=True
        )
    )
    added = []
    for size in sizes:
        if size in existing:
            continue
        variant = Variant(
            product=product,
            size_scheme=size_scheme,
            size=size,
            sku=variant_sku(
                style_code=product.style_code,
                slug=product.slug,
                size_scheme=size_scheme,
                size=size,
            ),
            stock_on_hand=stock.get(size, 0),
        )
        variant.full_clean()
        variant.save()
        added.append(variant)
    logger.info("catalog.size_run_added", extra={"product_id": product.pk, "sizes": len(added)})
    return added


PENDING_IMAGES = "products/pending/"
PENDING_SALT = "catalog.pending-image"
PENDING_MAX_AGE = 24 * 3600


def pending_image_keep(upload: UploadedFile[bytes]) -> str:
    """Store an upload whose form came back with errors; returns a signed token
    naming it, for the form to carry until it is saved."""
    upload.seek(0)
    name = default_storage.save(f"{PENDING_IMAGES}{uuid.uuid4().hex}/{upload.name}", upload)
    upload.seek(0)
    return signing.dumps(name, salt=PENDING_SALT)


def pending_image_open(token: str) -> File[bytes] | None:
    """The upload kept under `token`, or None when the token is forged,
    expired or its file gone."""
    try:
        name = signing.loads(token, salt=PENDING_SALT, max_age=PENDING_MAX_AGE)
    except signing.BadSignature:
        return None
    if not name.startswith(PENDING_IMAGES) or not default_storage.exists(name):
        return None
    content = default_storage.open(name).read()
    return File(io.BytesIO(content), name=name.rsplit("/", 1)[-1])
