import re

import pytest
from django.core.exceptions import ValidationError

from rdk.forms import MoneyField
from rdk.money import MoneyInvalid, money_parse, money_text


@pytest.mark.parametrize(
    ("amount", "currency", "options", "text"),
    [
        (12050, "USD", {}, "$120.50"),
        (12000, "usd", {}, "$120.00"),
        (12000, "USD", {"trim_zero_cents": True}, "$120"),
        (12050, "USD", {"trim_zero_cents": True}, "$120.50"),
        (123456789, "EUR", {}, "€1,234,567.89"),
        (2550, "USD", {"symbol": False}, "25.50 USD"),
        (500, "CHF", {}, "5.00 CHF"),
        (0, "GBP", {}, "£0.00"),
    ],
)
def test_money_text(amount, currency, options, text):
    assert money_text(amount, currency, **options) == text


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (18500, "JPY", "¥18,500"),
        (500, "jpy", "¥500"),
        (500, "KRW", "500 KRW"),
        (1234, "KWD", "1.234 KWD"),
        (-5000, "USD", "-$50.00"),
    ],
)
def test_money_text_follows_the_currency_s_decimal_places(amount, currency, text):
    assert money_text(amount, currency) == text


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("185", "USD", 18500),
        ("185.00", "USD", 18500),
        (" 49.9 ", "USD", 4990),
        ("0.01", "USD", 1),
        ("1,250.00", "USD", 125000),
        ("500", "JPY", 500),
        ("1.005", "KWD", 1005),
    ],
)
def test_money_parse_reads_currency_units(typed, currency, minor):
    assert money_parse(typed, currency) == minor


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        ("185.001", "USD", "USD has 2 decimal places at most"),
        ("185.000", "USD", "USD has 2 decimal places at most"),
        ("5.5", "JPY", "JPY has no decimal places"),
        ("1,5", "EUR", "Enter an amount in EUR, such as 185.00"),
        ("", "USD", "Enter an amount"),
        (".", "USD", "Enter an amount"),
        ("-1", "USD", "Enter an amount"),
        ("1e3", "USD", "Enter an amount"),
        ("$5", "USD", "Enter an amount"),
        ("NaN", "USD", "Enter an amount"),
        ("abc", "JPY", "such as 500"),
    ],
)
def test_money_parse_refuses_rather_than_rounds(typed, currency, message):
    with pytest.raises(MoneyInvalid, match=re.escape(message)):
        money_parse(typed, currency)


def test_money_field_shows_units_and_cleans_to_minor_units():
    field = MoneyField(currency="USD", min_amount=1)
    assert field.prepare_value(18500) == "185.00"
    assert field.prepare_value("185.5") == "185.5"  # what was typed stays as typed
    assert field.clean("185.5") == 18550
    assert not field.has_changed(18500, "185")
    assert field.has_changed(18500, "185.01")
    with pytest.raises(ValidationError, match=r"at least 0\.01 USD"):
        field.clean("0")
    with pytest.raises(ValidationError, match="2 decimal places at most"):
        field.clean("1.999")
    yen = MoneyField(currency="JPY")
    assert (yen.prepare_value(500), yen.clean("500")) == ("500", 500)
    widget = yen.widget  # the field's instance of its class attribute MoneyInput
    assert 'inputmode="decimal"' in str(widget.render("price", "500"))  # type: ignore[call-arg, arg-type]
