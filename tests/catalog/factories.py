"""Catalog factories, shared by every app's tests.

ProductFactory()                      # active, priced, no sizes
ProductFactory(with_sizes=True)       # US 7 to 10.5 in half sizes (8 sizes), 3 pairs each
VariantFactory(sold_out=True)         # a size with nothing available
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from catalog.models import Brand, Product, Variant
from tests.factories import ModelFactory


class BrandFactory(ModelFactory[Brand]):
    class Meta:
        model = Brand
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")


class ProductFactory(ModelFactory[Product]):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    brand = factory.SubFactory(BrandFactory)
    name = factory.Sequence(lambda n: f"Runner {n}")
    slug = factory.Sequence(lambda n: f"runner-{n}")
    colorway = "Black/White"
    style_code = factory.Sequence(lambda n: f"RD{n:05d}-001")
    description = "A test pair."
    # Released (in the past): the shop refuses to sell a pair before its release date.
    release_date = factory.Sequence(lambda n: dt.date(2020, 1, 1) + dt.timedelta(days=n))
    price_amount = 12000
    currency = "USD"
    is_active = True

    class Params:
        inactive = factory.Trait(is_active=False)
        featured = factory.Trait(is_featured=True)

    @factory.post_generation
    def with_sizes(product, create, extracted, **kwargs):
        if not create or not extracted:
            return
        count = extracted if isinstance(extracted, int) and extracted is not True else 8
        for index in range(count):
            VariantFactory(product=product, size=Decimal("7") + Decimal("0.5") * index)


class VariantFactory(ModelFactory[Variant]):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    size_scheme = "US"
    size = factory.Sequence(lambda n: Decimal("4") + Decimal("0.5") * (n % 30))
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    stock_on_hand = 3
    stock_reserved = 0

    class Params:
        sold_out = factory.Trait(stock_on_hand=0)
        last_pair = factory.Trait(stock_on_hand=1)
