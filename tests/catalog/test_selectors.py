from decimal import Decimal

import pytest
from django.core.files.storage import default_storage

from catalog import selectors
from catalog.models import ProductImage
from catalog.selectors import ProductFilters
from rdk.switches import switch_set
from tests.catalog.factories import BrandFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def slugs(filters: ProductFilters) -> list[str]:
    return [product.slug for product in selectors.product_list(filters=filters)]


def test_list_filters_by_brand_size_price_stock_and_search():
    nike = BrandFactory(name="Nike", slug="nike")
    cheap = ProductFactory(brand=nike, slug="cheap", price_amount=8000, colorway="Panda")
    pricey = ProductFactory(slug="pricey", price_amount=30000, style_code="DZ5485-612")
    gone = ProductFactory(slug="gone", price_amount=12000)
    hidden = ProductFactory(slug="hidden", inactive=True)
    VariantFactory(product=cheap, size=Decimal("9"))
    VariantFactory(product=pricey, size=Decimal("10"))
    VariantFactory(product=gone, size=Decimal("9"), sold_out=True)
    VariantFactory(product=hidden, size=Decimal("9"))

    assert set(slugs(ProductFilters())) == {"cheap", "pricey", "gone"}
    assert slugs(ProductFilters(brands=("nike",))) == ["cheap"]
    assert set(slugs(ProductFilters(size=Decimal("9")))) == {"cheap", "gone"}
    assert slugs(ProductFilters(size=Decimal("9"), in_stock=True)) == ["cheap"]
    assert set(slugs(ProductFilters(in_stock=True))) == {"cheap", "pricey"}
    assert slugs(ProductFilters(min_price=20000)) == ["pricey"]
    assert set(slugs(ProductFilters(max_price=12000))) == {"cheap", "gone"}
    assert slugs(ProductFilters(search="panda")) == ["cheap"]
    assert slugs(ProductFilters(search="dz5485")) == ["pricey"]
    assert slugs(ProductFilters(sort="price_asc")) == ["cheap", "gone", "pricey"]
    assert slugs(ProductFilters(sort="price_desc")) == ["pricey", "gone", "cheap"]


def test_list_annotates_card_fields_in_one_query(django_assert_num_queries):
    for _ in range(5):
        ProductFactory(with_sizes=True)
    with django_assert_num_queries(1):
        products = list(selectors.product_list(filters=ProductFilters()))
        assert all(product.in_stock and product.brand.name for product in products)


def test_product_get_hides_inactive_products():
    product = ProductFactory(inactive=True)
    with pytest.raises(Exception, match="No such product"):
        selectors.product_get(slug=product.slug)


def test_facets_list_brands_with_active_products_and_sizes():
    ProductFactory(brand=BrandFactory(name="adidas", slug="adidas"), with_sizes=2)
    ProductFactory(brand=BrandFactory(name="Zed", slug="zed"), inactive=True, with_sizes=2)
    facets = selectors.catalog_facets()
    assert [brand[0] for brand in facets.brands] == ["adidas"]
    assert facets.sizes == [Decimal("7.0"), Decimal("7.5")]


def test_card_page_carries_what_a_card_shows_in_one_query(django_assert_num_queries):
    pictured = ProductFactory(slug="pictured", price_amount=12050, featured=True, with_sizes=True)
    ProductImage.objects.create(
        product=pictured, image="products/2026/01/second.jpg", alt_text="Side", position=1
    )
    ProductImage.objects.create(
        product=pictured, image="products/2026/01/first.jpg", alt_text="Front", position=0
    )
    bare = ProductFactory(slug="bare")
    with django_assert_num_queries(1):
        page = selectors.product_card_page(
            filters=ProductFilters(sort="price_desc"), number=1, per_page=24
        )
    assert page.count == 2
    assert not page.has_other_pages
    first, second = page.cards
    assert first["url"] == pictured.get_absolute_url()
    assert first["image_url"] == default_storage.url("products/2026/01/first.jpg")
    assert first["image_alt"] == "Front"
    assert first["brand_name"] == pictured.brand.name
    assert (first["in_stock"], first["is_featured"]) == (True, True)
    assert first["cache_tag"] == pictured.cache_tag
    assert first["brand_cache_tag"] == pictured.brand.cache_tag
    assert second["url"] == bare.get_absolute_url()
    assert (second["image_url"], second["in_stock"]) == ("", False)


def test_card_page_counts_every_match_and_ends_at_the_last_page():
    for index in range(5):
        ProductFactory(slug=f"pair-{index}")
    filters = ProductFilters()
    pages = [selectors.product_card_page(filters=filters, number=n, per_page=2) for n in (1, 2, 3)]
    assert [page.count for page in pages] == [5, 5, 5]
    assert [page.num_pages for page in pages] == [3, 3, 3]
    assert [len(page.cards) for page in pages] == [2, 2, 1]
    assert (pages[0].has_previous, pages[0].has_next) == (False, True)
    assert (pages[2].has_previous, pages[2].has_next) == (True, False)
    listed = [card["url"] for page in pages for card in page.cards]
    assert listed == [f"/products/{slug}" for slug in slugs(filters)]
    assert selectors.product_card_page(filters=filters, number=4, per_page=2) is None


def test_card_page_of_nothing_is_one_empty_page():
    page = selectors.product_card_page(filters=ProductFilters(search="nope"), number=1, per_page=24)
    assert (page.cards, page.count, page.num_pages) == ([], 0, 1)
    assert selectors.product_card_page(filters=ProductFilters(), number=2, per_page=24) is None


def test_storefront_queries_are_compiled_once_per_shape(
    monkeypatch, django_capture_on_commit_callbacks
):
    """Compiling the card query cost four times what running it did: the
    pages' SQL is compiled once per process for each filter shape and page."""
    from django.db.models.sql.compiler import SQLCompiler

    product = ProductFactory(slug="one", with_sizes=2)
    with django_capture_on_commit_callbacks(execute=True):  # facets from the database
        switch_set(name="cache.force_dynamic", on=True, actor="test")
    compiled = []
    as_sql = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        compiled.append(self.query.model)
        return as_sql(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    shapes = [ProductFilters(), ProductFilters(size=Decimal("7"), sort="price_asc")]

    def storefront():
        pages = [selectors.product_card_page(filters=f, number=1, per_page=24) for f in shapes]
        facets = [selectors.catalog_facets_for(filters=f) for f in shapes]
        return pages, facets

    pages, facets = storefront()
    assert compiled
    compiled.clear()
    assert storefront() == (pages, facets)
    assert compiled == []
    assert [card["url"] for card in pages[0].cards] == ["/products/one"]
    assert facets[0].brands == [(product.brand.slug, product.brand.name, 1)]
    assert facets[0].sizes == [Decimal("7.0"), Decimal("7.5")]
    assert (pages[1].count, facets[1].brands[0][2]) == (1, 1)
    assert selectors.product_card_page(filters=shapes[0], number=2, per_page=24) is None


def test_facet_sizes_are_decimals_whatever_the_database_returns():
    ProductFactory(with_sizes=3)
    sizes = selectors.size_facets()
    assert sizes == [Decimal("7.0"), Decimal("7.5"), Decimal("8.0")]
    assert all(isinstance(size, Decimal) for size in sizes)


@pytest.mark.parametrize(
    "name",
    [
        "products/2026/01/first.jpg",
        "products/demo/air max 1 (og).jpg",
        "products/2026/01/crème brûlée #2?.webp",
        "products/a:b/c.jpg",
        "/products/leading-slash.jpg",
    ],
)
def test_card_pictures_have_the_url_the_storage_gives(name):
    ProductImage.objects.create(
        product=ProductFactory(slug="pictured"), image=name, alt_text="Side", position=0
    )
    page = selectors.product_card_page(filters=ProductFilters(), number=1, per_page=24)
    assert page.cards[0]["image_url"] == default_storage.url(name)
