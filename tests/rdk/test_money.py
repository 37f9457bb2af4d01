import pytest

from rdk.money import money_text


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
