"""Form fields shared by the shop, the admin and the ops console."""

from __future__ import annotations

from typing import Any

from django import forms

from rdk.money import MoneyInvalid, money_input_text, money_parse


class MoneyInput(forms.TextInput):
    """A text box for an amount in currency units: a decimal keypad on phones,
    and no browser rounding (a number input with `step` would round 185.001)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})


class MoneyField(forms.Field):
    """An amount entered and shown in currency units ("185.00"), cleaned to
    integer minor units (18500), the way models store money.

    The currency decides the decimal places: set `currency` when the form knows
    it (the order's, the product's). More decimals than the currency has are
    refused, never rounded. Initial values are minor units, shown as units."""

    widget = MoneyInput

    def __init__(
        self, *, currency: str = "USD", min_amount: int | None = None, **kwargs: Any
    ) -> None:
        self.currency = currency
        self.min_amount = min_amount
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        # Minor units from the model or `initial`; text the person typed stays as typed.
        if isinstance(value, int) and not isinstance(value, bool):
            return money_input_text(value, self.currency)
        return value

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int):
            return value
        try:
            return money_parse(str(value), self.currency)
        except MoneyInvalid as error:
            raise forms.ValidationError(str(error), code="invalid") from error

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and self.min_amount is not None and value < self.min_amount:
            least = money_input_text(self.min_amount, self.currency)
            raise forms.ValidationError(
                f"Enter at least {least} {self.currency}.", code="min_value"
            )

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != self.to_python(initial)
        except forms.ValidationError:
            return True
