from django import template

register = template.Library()

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


@register.filter
def money(amount, currency: str = "USD") -> str:
    """Minor units to a price: 12000|money:"USD" → $120.00."""
    try:
        value = int(amount) / 100
    except (TypeError, ValueError):
        return ""
    symbol = SYMBOLS.get(str(currency).upper())
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency}"
