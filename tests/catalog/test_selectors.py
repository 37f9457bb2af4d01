from decimal import Decimal

import pytest

from catalog import selectors
from catalog.selectors import ProductFilters
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
