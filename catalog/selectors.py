"""Catalog reads: what shoppers may see (active products only) and the
queries behind the storefront pages and the products API.

The list query carries everything a product card needs (brand, first image,
whether any size is available) so a page of cards costs one query."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone

from catalog.models import Brand, Product, ProductImage, Variant
from rdk.cachetags import tagged_key
from rdk.switches import switch_is_on

SORTS = {
    "newest": ("-release_date", "name", "id"),
    "price_asc": ("price_amount", "name", "id"),
    "price_desc": ("-price_amount", "name", "id"),
}
DEFAULT_SORT = "newest"


@dataclass(frozen=True)
class ProductFilters:
    """Validated shopper filters; amounts in minor units."""

    search: str = ""
    brands: tuple[str, ...] = ()
    size: Decimal | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool = False
    sort: str = DEFAULT_SORT

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.search
            or self.brands
            or self.size is not None
            or self.min_price is not None
            or self.max_price is not None
            or self.in_stock
        )


def _available_variants() -> QuerySet[Variant]:
    return Variant.objects.filter(product=OuterRef("pk"), stock_on_hand__gt=F("stock_reserved"))


def _first_image() -> QuerySet[ProductImage]:
    return ProductImage.objects.filter(product=OuterRef("pk")).order_by("position", "id")


def _card_queryset() -> QuerySet[Product]:
    return (
        Product.objects.filter(is_active=True)
        .select_related("brand")
        .annotate(
            in_stock=Exists(_available_variants()),
            image_path=Subquery(_first_image().values("image")[:1]),
            image_alt=Subquery(_first_image().values("alt_text")[:1]),
        )
    )


def product_list(*, filters: ProductFilters) -> QuerySet[Product]:
    """Active products matching `filters`, ordered, annotated for cards."""
    products = _card_queryset()
    if filters.search:
        term = filters.search
        products = products.filter(
            Q(name__icontains=term)
            | Q(colorway__icontains=term)
            | Q(style_code__icontains=term)
            | Q(brand__name__icontains=term)
        )
    if filters.brands:
        products = products.filter(brand__slug__in=filters.brands)
    if filters.size is not None:
        sized = Variant.objects.filter(product=OuterRef("pk"), size=filters.size)
        if filters.in_stock:
            sized = sized.filter(stock_on_hand__gt=F("stock_reserved"))
        products = products.filter(Exists(sized))
    if filters.in_stock:
        products = products.filter(in_stock=True)
    if filters.min_price is not None:
        products = products.filter(price_amount__gte=filters.min_price)
    if filters.max_price is not None:
        products = products.filter(price_amount__lte=filters.max_price)
    return products.order_by(*SORTS.get(filters.sort, SORTS[DEFAULT_SORT]))


def product_new_releases(*, limit: int = 8) -> list[Product]:
    """The latest products already released."""
    today = timezone.now().date()
    return list(_card_queryset().filter(release_date__lte=today).order_by(*SORTS["newest"])[:limit])


def product_featured(*, limit: int = 4) -> list[Product]:
    return list(_card_queryset().filter(is_featured=True).order_by(*SORTS["newest"])[:limit])


def product_get(*, slug: str) -> Product:
    """An active product with its brand, images and sizes, or Http404."""
    product = (
        Product.objects.filter(is_active=True, slug=slug)
        .select_related("brand")
        .prefetch_related(
            "images",
            Prefetch("variants", queryset=Variant.objects.order_by("size_scheme", "size")),
        )
        .first()
    )
    if product is None:
        raise Http404("No such product.")
    return product


def brand_facets() -> list[Brand]:
    """Brands with at least one active product, each with `product_count`."""
    return list(
        Brand.objects.annotate(product_count=Count("products", filter=Q(products__is_active=True)))
        .filter(product_count__gt=0)
        .order_by(Lower("name"))
    )


def size_facets() -> list[Decimal]:
    """Every size offered by an active product (US sizes)."""
    return list(
        Variant.objects.filter(product__is_active=True, size_scheme="US")
        .order_by("size")
        .values_list("size", flat=True)
        .distinct()
    )


def product_slugs(*, limit: int | None = None) -> list[str]:
    slugs = Product.objects.filter(is_active=True).order_by(*SORTS["newest"])
    values = slugs.values_list("slug", flat=True)
    return list(values[:limit] if limit else values)


def is_released(product: Product, *, today: dt.date | None = None) -> bool:
    return product.release_date <= (today or timezone.now().date())


SLUG_TAGS_KEY = "catalog:slug-tags:"
# A slug's product id and brand change only when a slug is reused or a product
# moves brand; each process keeps what it read this long (see docs/catalog.md).
SLUG_TAGS_LOCAL_TTL = 30.0
_slug_tags: dict[str, tuple[float, list[str]]] = {}
FACETS_TTL = 3600


def product_page_tags(*, slug: str) -> list[str]:
    """Cache tags of the product page at `slug`, remembered in the shared cache
    so that a warm page is served without a query."""
    key = SLUG_TAGS_KEY + slug
    local = _slug_tags.get(slug)
    if local is not None and local[0] > time.monotonic():
        return local[1]
    tags = cache.get(key)
    if tags is None:
        found = Product.objects.filter(slug=slug).values_list("pk", "brand_id").first()
        if found is None:
            return ["catalog"]
        tags = [f"product:{found[0]}", f"brand:{found[1]}"]
        cache.set(key, tags, FACETS_TTL)
    if len(_slug_tags) > 10_000:
        _slug_tags.clear()
    _slug_tags[slug] = (time.monotonic() + SLUG_TAGS_LOCAL_TTL, tags)
    return tags


def product_page_tags_forget(*, slug: str) -> None:
    _slug_tags.pop(slug, None)
    cache.delete(SLUG_TAGS_KEY + slug)


@dataclass(frozen=True)
class Facets:
    brands: list[tuple[str, str, int]]
    sizes: list[Decimal]


def catalog_facets() -> Facets:
    """Brands and sizes to filter by, cached under the `catalog` tag."""

    def load() -> Facets:
        return Facets(
            brands=[(brand.slug, brand.name, brand.product_count) for brand in brand_facets()],
            sizes=size_facets(),
        )

    if switch_is_on("cache.force_dynamic"):
        return load()
    key = tagged_key("facets", ["catalog"])
    facets = cache.get(key)
    if facets is None:
        facets = load()
        cache.set(key, facets, FACETS_TTL)
    return facets
