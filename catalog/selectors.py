"""Catalog reads: what shoppers may see (active products only) and the
queries behind the storefront pages and the products API.

The list query carries everything a product card needs (brand, first image,
whether any size is available) so a page of cards costs one query. Storefront
pages take cards as plain dicts (`ProductCard`), not model instances: that
page is rendered per request whenever caching is bypassed, and building and
rendering dicts costs a fraction of what model instances do. For the same
reason the storefront's queries are compiled to SQL once per process and shape
(`_Statement`): compiling one took four times as long as running it."""

from __future__ import annotations

import datetime as dt
import functools
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, TypedDict

from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, Lower
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import filepath_to_uri

from catalog.models import Brand, Product, ProductImage, Variant
from catalog.search import product_search
from rdk.cachetags import tagged_key
from rdk.switches import switch_is_on

SORTS: dict[str, tuple[str, ...]] = {
    # Best match first when searching; newest first otherwise.
    "relevance": ("-release_date", "name", "id"),
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


def _in_stock() -> Coalesce:
    # A scalar subquery rather than Exists(): PostgreSQL answers an EXISTS in
    # the select list by hashing every available size of the catalog (a scan
    # of all variants for each page of 24 cards); this probes each listed
    # product's own sizes by index. A third less database time per page.
    available = _available_variants().order_by().annotate(yes=Value(True)).values("yes")[:1]
    return Coalesce(Subquery(available), Value(False))


@functools.cache
def _card_base() -> QuerySet[Product]:
    # Built once per process: resolving the three subqueries costs about as
    # much as running the query. Never evaluated itself, only cloned (the
    # pattern of a class-based view's `queryset` attribute).
    return (
        Product.objects.filter(is_active=True)
        .select_related("brand")
        .annotate(
            in_stock=_in_stock(),
            image_path=Subquery(_first_image().values("image")[:1]),
            image_alt=Subquery(_first_image().values("alt_text")[:1]),
        )
    )


def _card_queryset() -> QuerySet[Product]:
    return _card_base().all()


@dataclass(frozen=True)
class _Statement:
    """A read query compiled to SQL once, to run many times.

    Django compiles a queryset anew at each evaluation; for the card query
    (three subqueries, a window count) that took about 1 ms of CPU, where
    running it took 0.2 ms. Only for querysets whose SQL depends on nothing
    but their arguments (no clock, no request): the SQL is kept as compiled.
    Rows come back as the database driver gives them, without Django's
    converters: callers convert what they read (`bool()`, `Decimal`)."""

    sql: str
    params: tuple[Any, ...]

    @classmethod
    def of(cls, queryset: QuerySet[Any]) -> _Statement:
        sql, params = queryset.query.sql_with_params()
        return cls(sql, tuple(params))

    def rows(self) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows

    def dicts(self) -> list[dict[str, Any]]:
        """Rows keyed by column name (the names `.values()` gives)."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def product_list(*, filters: ProductFilters) -> QuerySet[Product]:
    """Active products matching `filters`, ordered, annotated for cards."""
    products = _matching(_card_queryset(), filters=filters)
    if filters.brands:
        products = products.filter(brand__slug__in=filters.brands)
    order = SORTS.get(filters.sort, SORTS[DEFAULT_SORT])
    if filters.search and filters.sort == "relevance":
        order = ("-search_rank", *order)
    return products.order_by(*order)


def _matching(products: QuerySet[Product], *, filters: ProductFilters) -> QuerySet[Product]:
    """`products` narrowed by every filter but the brand (see brand_counts)."""
    if filters.search:
        products = product_search(products, term=filters.search)
    if filters.size is not None:
        sized = Variant.objects.filter(product=OuterRef("pk"), size=filters.size)
        if filters.in_stock:
            sized = sized.filter(stock_on_hand__gt=F("stock_reserved"))
        products = products.filter(Exists(sized))
    if filters.in_stock:
        products = products.filter(Exists(_available_variants()))
    if filters.min_price is not None:
        products = products.filter(price_amount__gte=filters.min_price)
    if filters.max_price is not None:
        products = products.filter(price_amount__lte=filters.max_price)
    return products


def brand_counts(*, filters: ProductFilters) -> dict[str, int]:
    """Active products per brand slug matching every filter but the brand
    itself, so each brand's count says what ticking it would add."""
    return dict(_brand_counts_statement(replace(filters, brands=(), sort="")).rows())


@functools.lru_cache(maxsize=256)
def _brand_counts_statement(filters: ProductFilters) -> _Statement:
    products = _matching(Product.objects.filter(is_active=True), filters=filters)
    return _Statement.of(products.order_by().values_list("brand__slug").annotate(Count("pk")))


class ProductCard(TypedDict):
    """What a product card shows."""

    id: int
    name: str
    colorway: str
    url: str
    price_amount: int
    currency: str
    is_featured: bool
    in_stock: bool
    brand_name: str
    image_url: str
    image_alt: str
    cache_tag: str
    brand_cache_tag: str


CARD_FIELDS = (
    "id",
    "slug",
    "name",
    "colorway",
    "price_amount",
    "currency",
    "is_featured",
    "in_stock",
    "brand_id",
    "brand__name",
    "image_path",
    "image_alt",
)


def _product_url_builder() -> Callable[[str], str]:
    """`Product.get_absolute_url` for many slugs at the cost of one reverse().

    The `slug` path converter accepts only `[-a-zA-Z0-9_]+`, characters that
    reverse() never quotes, so splicing a slug into the URL reversed for a
    marker gives exactly what reverse() gives for that slug."""
    marker = "product-slug"
    head, _, tail = reverse("catalog:product_detail", kwargs={"slug": marker}).rpartition(marker)
    return lambda slug: head + slug + tail


def _media_url_builder() -> Callable[[str], str]:
    """`default_storage.url` for many stored names.

    FileSystemStorage (RDK's media) joins its base URL and the quoted name
    with urljoin(), which took a third of the time of building a page of
    cards. A name it stored has no scheme (the ':' is quoted), no leading '/'
    and no dot segment (names are normalised on save, '..' refused), so
    appending it to the base URL gives the same URL. Other storages are asked
    for each name."""
    storage = default_storage
    if not isinstance(storage, FileSystemStorage):
        return storage.url
    base: str = storage.base_url
    return lambda name: base + filepath_to_uri(name).lstrip("/")


def product_cards(rows: Iterable[dict[str, Any]]) -> list[ProductCard]:
    """Cards from rows of `_card_queryset().values(*CARD_FIELDS)`."""
    url = _product_url_builder()
    media_url = _media_url_builder()
    return [
        {
            "id": row["id"],
            "name": row["name"],
            "colorway": row["colorway"],
            "url": url(row["slug"]),
            "price_amount": row["price_amount"],
            "currency": row["currency"],
            "is_featured": bool(row["is_featured"]),
            "in_stock": bool(row["in_stock"]),
            "brand_name": row["brand__name"],
            "image_url": media_url(row["image_path"]) if row["image_path"] else "",
            "image_alt": row["image_alt"] or "",
            "cache_tag": f"product:{row['id']}",
            "brand_cache_tag": f"brand:{row['brand_id']}",
        }
        for row in rows
    ]


@dataclass(frozen=True)
class CardPage:
    """One page of product cards and where it sits among all pages."""

    cards: list[ProductCard]
    number: int
    count: int
    per_page: int

    @property
    def num_pages(self) -> int:
        return max(math.ceil(self.count / self.per_page), 1)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def product_card_page(*, filters: ProductFilters, number: int, per_page: int) -> CardPage | None:
    """Page `number` of the cards matching `filters`, or None past the last
    page (page 1 always exists). One query: the total comes along with each
    row as a window count, instead of a separate COUNT query."""
    offset = (number - 1) * per_page
    rows = _card_page_statement(filters, offset, per_page).dicts()
    if not rows and number > 1:
        return None
    count = rows[0]["total"] if rows else 0
    return CardPage(cards=product_cards(rows), number=number, count=count, per_page=per_page)


@functools.lru_cache(maxsize=256)
def _card_page_statement(filters: ProductFilters, offset: int, limit: int) -> _Statement:
    # Bounded: a search term makes a shape of its own.
    rows = product_list(filters=filters).annotate(total=Window(Count("pk")))
    return _Statement.of(rows.values(*CARD_FIELDS, "total")[offset : offset + limit])


def product_new_releases(*, limit: int = 8) -> list[ProductCard]:
    """Cards of the latest products already released."""
    today = timezone.now().date()
    products = _card_queryset().filter(release_date__lte=today).order_by(*SORTS["newest"])
    return product_cards(products.values(*CARD_FIELDS)[:limit])


def product_featured(*, limit: int = 4) -> list[ProductCard]:
    products = _card_queryset().filter(is_featured=True).order_by(*SORTS["newest"])
    return product_cards(products.values(*CARD_FIELDS)[:limit])


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


@functools.cache
def _brand_facets_statement() -> _Statement:
    return _Statement.of(
        Brand.objects.annotate(product_count=Count("products", filter=Q(products__is_active=True)))
        .filter(product_count__gt=0)
        .order_by(Lower("name"))
        .values_list("slug", "name", "product_count")
    )


@functools.cache
def _size_facets_statement() -> _Statement:
    # Unordered DISTINCT lets PostgreSQL hash the ~20 sizes instead of sorting
    # every variant row; size_facets sorts the few that remain.
    return _Statement.of(
        Variant.objects.filter(product__is_active=True, size_scheme="US")
        .order_by()
        .values_list("size")
        .distinct()
    )


def brand_facets() -> list[tuple[str, str, int]]:
    """(slug, name, active product count) of each brand with an active product."""
    return [(slug, name, count) for slug, name, count in _brand_facets_statement().rows()]


def size_facets() -> list[Decimal]:
    """Every size offered by an active product (US sizes)."""
    # As DecimalField reads them: SQLite hands back floats.
    return sorted(_size(size) for (size,) in _size_facets_statement().rows())


def _size(value: Decimal | float) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(Decimal("0.1"))


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
    tags: list[str] | None = cache.get(key)
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
        return Facets(brands=brand_facets(), sizes=size_facets())

    if switch_is_on("cache.force_dynamic"):
        return load()
    key = tagged_key("facets", ["catalog"])
    facets: Facets | None = cache.get(key)
    if facets is None:
        facets = load()
        cache.set(key, facets, FACETS_TTL)
    return facets


def product_thumbnails(*, product_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """(url, alt text) of the first image of each product that has one."""
    rows = (
        ProductImage.objects.filter(product_id__in=set(product_ids))
        .order_by("product_id", "position", "id")
        .values_list("product_id", "image", "alt_text")
    )
    thumbnails: dict[int, tuple[str, str]] = {}
    for product_id, path, alt in rows:
        thumbnails.setdefault(product_id, (default_storage.url(path), alt))
    return thumbnails


def catalog_facets_for(*, filters: ProductFilters) -> Facets:
    """The facets, with each brand's count under the other active filters
    (the cached counts when only brands or the sort are chosen)."""
    facets = catalog_facets()
    if not replace(filters, brands=(), sort="").is_filtered:
        return facets
    counts = brand_counts(filters=filters)
    brands = [(slug, name, counts.get(slug, 0)) for slug, name, _ in facets.brands]
    return replace(facets, brands=brands)
