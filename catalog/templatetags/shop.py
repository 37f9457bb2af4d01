"""Storefront template helpers: prices and stock wording."""

from __future__ import annotations

from django import template
from django.core.files.storage import default_storage

register = template.Library()

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


@register.filter
def money(amount: int | None, currency: str = "USD") -> str:
    """Minor units to a price: 12000 → $120, 12050 → $120.50."""
    if amount is None:
        return ""
    whole, cents = divmod(int(amount), 100)
    symbol = SYMBOLS.get(currency, "")
    number = f"{whole:,}" if not cents else f"{whole:,}.{cents:02d}"
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


@register.filter
def media_url(path: str | None) -> str:
    return default_storage.url(path) if path else ""


@register.filter
def size_text(size) -> str:
    return f"{size.normalize():f}"
