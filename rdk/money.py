"""Money is integer minor units plus an ISO currency code (DESIGN.md); this is
the one place that turns an amount into text, for pages, messages and the admin."""

from __future__ import annotations

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money_text(
    amount: int, currency: str, *, symbol: bool = True, trim_zero_cents: bool = False
) -> str:
    """12050, "USD" → "$120.50"; with symbol=False → "120.50 USD" (messages and
    the admin, where the code is unambiguous); trim_zero_cents turns "$120.00"
    into "$120" (list prices). Currencies without a symbol always show the code."""
    code = currency.upper()
    whole, cents = divmod(int(amount), 100)
    number = f"{whole:,}" if trim_zero_cents and not cents else f"{whole:,}.{cents:02d}"
    sign = SYMBOLS.get(code) if symbol else None
    return f"{sign}{number}" if sign else f"{number} {code}"
