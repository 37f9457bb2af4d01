from django import template

from rdk.money import money_text

register = template.Library()


@register.filter
def money(amount, currency: str = "USD") -> str:
    """Minor units to a price: 12000|money:"USD" → $120.00."""
    try:
        return money_text(int(amount), str(currency))
    except (TypeError, ValueError):
        return ""
