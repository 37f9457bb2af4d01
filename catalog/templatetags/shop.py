"""Storefront template helpers: prices, sizes, product cards and the filter
form's brand and size choices.

The tags below render the catalog's long lists in Python, not through a
template loop: with caching bypassed (the `cache.force_dynamic` switch) the 24
cards of a /products page, its brands and its sizes are rendered on every
request, and Django's template engine spent about 80 µs on each card and 20 µs
on each choice, a tenth of that here. The markup is in the `*_HTML` strings
below; every value is escaped as the template engine's autoescape would."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal
from html import escape

from django import template
from django.core.files.storage import default_storage
from django.utils.safestring import SafeString, mark_safe

from catalog.selectors import ProductCard
from rdk.money import money_text
from rdk.templatetags.cachefragment import Fragment, fragments_cached

register = template.Library()


@register.filter
def money(amount: int | None, currency: str = "USD") -> str:
    """Minor units to a price: 12000 → $120, 12050 → $120.50."""
    if amount is None:
        return ""
    return money_text(amount, currency, trim_zero_cents=True)


@register.filter
def media_url(path: str | None) -> str:
    return default_storage.url(path) if path else ""


@register.filter
def size_text(size) -> str:
    return f"{size.normalize():f}"


CARD_HTML = """<article class="product-card">
  <a class="product-card-link" href="{url}">
    <div class="product-card-media">
      {media}{badge}
    </div>
    <div class="product-card-body">
      <p class="product-card-brand">{brand}</p>
      <h3 class="product-card-name">{name}</h3>
      <p class="product-card-colorway">{colorway}</p>
      <p class="product-card-price">{price}</p>
    </div>
  </a>
</article>
"""
IMAGE_HTML = '<img src="{src}" alt="{alt}" width="720" height="540" {loading}>'
# The first row is above the fold: its images load at once, the others when scrolled to.
EAGER, LAZY = 'fetchpriority="high"', 'loading="lazy" decoding="async"'
PLACEHOLDER_HTML = '<div class="product-card-placeholder" aria-hidden="true">{brand}</div>'
SOLD_OUT_HTML = '\n      <span class="badge badge-soldout">Sold out</span>'
FEATURED_HTML = '\n      <span class="badge">Featured</span>'


def product_card_html(card: ProductCard, *, eager: bool = False) -> str:
    """One product card: picture (or the brand's name), sold-out or featured
    badge, brand, name, colourway and price, all linking to the product."""
    brand = escape(card["brand_name"])
    if card["image_url"]:
        media = IMAGE_HTML.format(
            src=escape(card["image_url"]),
            alt=escape(card["image_alt"]),
            loading=EAGER if eager else LAZY,
        )
    else:
        media = PLACEHOLDER_HTML.format(brand=brand)
    if not card["in_stock"]:
        badge = SOLD_OUT_HTML
    elif card["is_featured"]:
        badge = FEATURED_HTML
    else:
        badge = ""
    return CARD_HTML.format(
        url=escape(card["url"]),
        media=media,
        badge=badge,
        brand=brand,
        name=escape(card["name"]),
        colorway=escape(card["colorway"]),
        price=escape(money_text(card["price_amount"], card["currency"], trim_zero_cents=True)),
    )


@register.simple_tag
def product_cards(cards: Sequence[ProductCard], eager: int = 0) -> SafeString:
    """The cards of a product grid, the first `eager` with their images
    loaded at once. Each card is a fragment cached under its product's and
    brand's tags (`{% cachefragment "card" … key=<id> %}`, "card-eager" for
    the eager ones), all read in one round trip."""
    fragments = [
        Fragment(
            "card-eager" if index < eager else "card",
            (card["cache_tag"], card["brand_cache_tag"]),
            card["id"],
        )
        for index, card in enumerate(cards)
    ]
    html = fragments_cached(
        fragments, lambda index: product_card_html(cards[index], eager=index < eager)
    )
    return mark_safe("".join(html))  # noqa: S308  # nosec B308, B703 (escaped in product_card_html)


BRAND_CHOICE_HTML = (
    '<label class="check"><input type="checkbox" id="filter-brand-{slug}" name="brand" '
    'value="{slug}"{checked}> {name} <span class="muted small">({count})</span></label>'
)
SIZE_CHOICE_HTML = '<option value="{text}"{selected}>{text}</option>'


@register.simple_tag
def brand_choices(brands: Sequence[tuple[str, str, int]], selected: Collection[str]) -> SafeString:
    """A checkbox per (slug, name, product count) of the facets, ticked when selected."""
    return mark_safe(  # noqa: S308  # nosec B308, B703 (every value escaped)
        "\n".join(
            BRAND_CHOICE_HTML.format(
                slug=escape(slug),
                checked=" checked" if slug in selected else "",
                name=escape(name),
                count=count,
            )
            for slug, name, count in brands
        )
    )


@register.simple_tag
def size_choices(sizes: Sequence[Decimal], selected: Decimal | str | None) -> SafeString:
    """An <option> per size of the facets (9, 9.5: as typed in the query)."""
    return mark_safe(  # noqa: S308  # nosec B308, B703 (every value escaped)
        "".join(
            SIZE_CHOICE_HTML.format(
                text=escape(size_text(size)),
                selected=" selected" if size == selected else "",
            )
            for size in sizes
        )
    )
