"""Storefront template helpers: prices and stock wording."""

from __future__ import annotations

from django import template
from django.core.files.storage import default_storage

from rdk.money import money_text

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
