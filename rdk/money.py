"""Money is integer minor units plus an ISO currency code (DESIGN.md); this is
the one place that turns an amount into text, for pages, messages, emails, the
admin and command output, and the one place that reads an amount a person typed
("185.00") back into minor units (`money_parse`)."""

from __future__ import annotations

import re
from decimal import Decimal

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

# ISO 4217 minor-unit exponents that differ from 2 (the default). Stripe treats
# these currencies the same way: an amount of 500 JPY is ¥500, not ¥5.00.
_EXPONENTS = {
    **dict.fromkeys(
        [
            "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
            "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "JOD", "KWD", "OMR", "TND"], 3),
}  # fmt: skip


# 185, 185.00, .50, 1,250.00 (commas only as thousands separators: "1,5" is refused).
_AMOUNT = re.compile(r"(?=.*\d)(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?")


class MoneyInvalid(ValueError):
    """Text that is not an amount of the currency; the message is for the person who typed it."""


def currency_exponent(currency: str) -> int:
    """Decimal places of `currency`: 2 for USD, 0 for JPY, 3 for KWD."""
    return _EXPONENTS.get(currency.upper(), 2)


def money_text(
    amount: int, currency: str, *, symbol: bool = True, trim_zero_cents: bool = False
) -> str:
    """12050, "USD" → "$120.50"; 500, "JPY" → "¥500"; with symbol=False →
    "120.50 USD" (messages and the admin, where the code is unambiguous);
    trim_zero_cents turns "$120.00" into "$120" (list prices). Currencies
    without a symbol always show the code."""
    code = currency.upper()
    places = currency_exponent(code)
    amount = int(amount)
    sign_minus = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**places)
    number = f"{whole:,}"
    if places and not (trim_zero_cents and not fraction):
        number = f"{number}.{fraction:0{places}d}"
    sign = SYMBOLS.get(code) if symbol else None
    return f"{sign_minus}{sign}{number}" if sign else f"{sign_minus}{number} {code}"


def money_input_text(amount: int, currency: str) -> str:
    """Minor units as a person types them into a form: 18500, "USD" → "185.00"
    (no symbol, no thousands separator)."""
    places = currency_exponent(currency)
    return f"{Decimal(int(amount)).scaleb(-places):.{places}f}"


def money_parse(text: str, currency: str) -> int:
    """What a person typed, in currency units, to minor units: "185" or "185.00"
    → 18500 for USD; "500" → 500 for JPY. A value with more decimals than the
    currency has is refused (MoneyInvalid), never rounded; so is anything that is
    not a plain non-negative number ("1e3", "$5", "-1")."""
    code = currency.upper()
    places = currency_exponent(code)
    cleaned = str(text).strip()
    if not _AMOUNT.fullmatch(cleaned):
        example = money_input_text(18500 if places else 500, code)
        raise MoneyInvalid(f"Enter an amount in {code}, such as {example}.")
    decimals = len(cleaned.partition(".")[2])
    if decimals > places:
        if places == 0:
            raise MoneyInvalid(f"{code} has no decimal places; enter a whole amount.")
        raise MoneyInvalid(f"{code} has {places} decimal places at most; {text!s} has more.")
    return int(Decimal(cleaned.replace(",", "")).scaleb(places))
