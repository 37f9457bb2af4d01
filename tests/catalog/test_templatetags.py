"""Storefront template helpers (catalog/templatetags/shop.py): product cards."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.template import Context, Template

from catalog.selectors import ProductCard
from catalog.templatetags import shop
from rdk.switches import switch_set
from tests.conftest import RedisRoundTrips

pytestmark = pytest.mark.django_db


def card(**overrides) -> ProductCard:
    values: ProductCard = {
        "id": 7,
        "name": "Dunk Low",
        "colorway": "Panda",
        "url": "/products/dunk-low-panda",
        "price_amount": 12050,
        "currency": "USD",
        "is_featured": False,
        "in_stock": True,
        "brand_name": "Nike",
        "image_url": "/media/products/dunk.jpg",
        "image_alt": "Dunk Low in Panda, side view",
        "cache_tag": "product:7",
        "brand_cache_tag": "brand:3",
    }
    values.update(overrides)  # type: ignore[typeddict-item]
    return values


def squeezed(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


def test_a_card_links_its_picture_brand_name_colorway_and_price():
    html = squeezed(shop.product_card_html(card()))
    assert html == (
        '<article class="product-card">'
        '<a class="product-card-link" href="/products/dunk-low-panda">'
        '<div class="product-card-media">'
        '<img src="/media/products/dunk.jpg" alt="Dunk Low in Panda, side view" width="720" '
        'height="540" loading="lazy" decoding="async">'
        "</div>"
        '<div class="product-card-body">'
        '<p class="product-card-brand">Nike</p>'
        '<h3 class="product-card-name">Dunk Low</h3>'
        '<p class="product-card-colorway">Panda</p>'
        '<p class="product-card-price">$120.50</p>'
        "</div></a></article>"
    )


def test_an_eager_card_loads_its_picture_first():
    html = shop.product_card_html(card(), eager=True)
    assert 'height="540" fetchpriority="high">' in html
    assert "lazy" not in html


def test_a_card_without_picture_shows_the_brand_and_badges_say_sold_out_before_featured():
    html = squeezed(shop.product_card_html(card(image_url="", is_featured=True)))
    assert (
        '<div class="product-card-media">'
        '<div class="product-card-placeholder" aria-hidden="true">Nike</div>'
        '<span class="badge">Featured</span></div>'
    ) in html
    assert "<img" not in html
    sold_out = shop.product_card_html(card(in_stock=False, is_featured=True))
    assert '<span class="badge badge-soldout">Sold out</span>' in sold_out
    assert "Featured" not in sold_out


def test_every_value_of_a_card_is_escaped():
    html = shop.product_card_html(
        card(
            name='<script>alert("x")</script>',
            colorway="Black & White",
            brand_name="A'B",
            url='/products/x"onmouseover="y',
            image_alt='"><img src=x>',
        )
    )
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "Black &amp; White" in html
    assert "A&#x27;B" in html
    assert 'href="/products/x&quot;onmouseover=&quot;y"' in html
    assert 'alt="&quot;&gt;&lt;img src=x&gt;"' in html


GRID = Template("{% load shop %}{% product_cards cards eager=2 %}")


class RenderCounter:
    def __init__(self, monkeypatch) -> None:
        self.count = 0
        render = shop.product_card_html

        def counted(*args, **kwargs):
            self.count += 1
            return render(*args, **kwargs)

        monkeypatch.setattr(shop, "product_card_html", counted)


def grid(cards: list[ProductCard]) -> str:
    return GRID.render(Context({"cards": cards}))


def test_a_grid_renders_each_card_once_then_reads_them_all_in_one_round_trip(monkeypatch):
    cards = [card(id=index, cache_tag=f"product:{index}") for index in range(1, 7)]
    renders = RenderCounter(monkeypatch)
    first = grid(cards)
    assert renders.count == 6
    assert first.count("<article") == 6
    assert first.count('fetchpriority="high"') == 2  # the first two: eager=2
    round_trips = RedisRoundTrips(monkeypatch)
    assert grid(cards) == first
    assert renders.count == 6  # every card from the cache
    # The fragments in one read, and the tag versions in one more when this
    # process's copy of them expired: not a read per card.
    assert round_trips.count <= 2


def test_force_dynamic_renders_every_card_and_leaves_the_cache_alone(
    monkeypatch, django_capture_on_commit_callbacks
):
    cards = [card(id=index, cache_tag=f"product:{index}") for index in range(1, 4)]
    with django_capture_on_commit_callbacks(execute=True):
        switch_set(name="cache.force_dynamic", on=True, actor="test")
    grid(cards)  # the switch state is read once, then kept
    renders = RenderCounter(monkeypatch)
    round_trips = RedisRoundTrips(monkeypatch)
    html = grid(cards)
    assert html.count("<article") == 3
    assert renders.count == 3
    assert round_trips.count <= 1  # at most the switch state, read again when it expired


def test_brand_choices_tick_the_selected_brands_and_escape_names():
    html = Template("{% load shop %}{% brand_choices brands selected %}").render(
        Context({"brands": [("nike", "Nike", 12), ("a-b", "A & B <Co>", 3)], "selected": {"a-b"}})
    )
    assert html.split("\n") == [
        '<label class="check"><input type="checkbox" id="filter-brand-nike" name="brand" '
        'value="nike"> Nike <span class="muted small">(12)</span></label>',
        '<label class="check"><input type="checkbox" id="filter-brand-a-b" name="brand" '
        'value="a-b" checked> A &amp; B &lt;Co&gt; <span class="muted small">(3)</span></label>',
    ]


def test_size_choices_select_the_chosen_size_as_typed():
    sizes = [Decimal("9.0"), Decimal("9.5"), Decimal("10.0")]
    template = Template("{% load shop %}{% size_choices sizes chosen %}")
    html = template.render(Context({"sizes": sizes, "chosen": Decimal("9.5")}))
    assert html == (
        '<option value="9">9</option><option value="9.5" selected>9.5</option>'
        '<option value="10">10</option>'
    )
    # The 400 page has no filters: nothing is selected.
    assert "selected" not in template.render(Context({"sizes": sizes}))
