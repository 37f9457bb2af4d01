"""The /products query string, validated. The API validates the same filters
with its own serializer (catalog.apis); both produce `ProductFilters`."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.http import QueryDict

from catalog.selectors import DEFAULT_SORT, ProductFilters

SORT_CHOICES = [
    ("relevance", "Best match"),
    ("newest", "Newest"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
]
MAX_PRICE = 100_000  # whole currency units


SLUG = re.compile(r"[-a-z0-9_]{1,80}")


class SlugListField(forms.Field):
    """Repeated `?brand=a&brand=b` values; unknown slugs simply match nothing."""

    widget = forms.SelectMultiple

    def to_python(self, value) -> list[str]:
        if not value:
            return []
        values = [value] if isinstance(value, str) else list(value)
        if len(values) > 20:
            raise forms.ValidationError("Choose at most 20 brands.")
        bad = [item for item in values if not SLUG.fullmatch(item)]
        if bad:
            raise forms.ValidationError("Brands are given by their short name, like new-balance.")
        return list(dict.fromkeys(values))


class ProductFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, strip=True, label="Search")
    brand = SlugListField(required=False, label="Brand")
    size = forms.DecimalField(
        required=False,
        min_value=Decimal("1"),
        max_value=Decimal("20"),
        decimal_places=1,
        label="Size (US)",
    )
    min_price = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_PRICE, label="Lowest price"
    )
    max_price = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_PRICE, label="Highest price"
    )
    in_stock = forms.BooleanField(required=False, label="In stock only")
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES, label="Sort")
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000, label="Page")

    def clean_size(self) -> Decimal | None:
        size = self.cleaned_data.get("size")
        if size is not None and size % Decimal("0.5"):
            raise forms.ValidationError("Sizes come in whole and half steps, like 9 or 9.5.")
        return size

    def clean(self) -> dict:
        data = super().clean()
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", "The highest price must not be below the lowest.")
        return data

    def filters(self) -> ProductFilters:
        data = self.cleaned_data
        low, high = data.get("min_price"), data.get("max_price")
        return ProductFilters(
            search=data.get("q") or "",
            brands=tuple(data.get("brand") or ()),
            size=data.get("size"),
            min_price=low * 100 if low is not None else None,
            max_price=high * 100 if high is not None else None,
            in_stock=bool(data.get("in_stock")),
            sort=data.get("sort") or ("relevance" if data.get("q") else DEFAULT_SORT),
        )


def filter_chips(query: QueryDict, *, brand_names: dict[str, str]) -> list[tuple[str, str]]:
    """(label, query string without it) for each active filter of a valid
    /products query, so a shopper can drop one filter with one click."""
    chips = []
    labels = {
        "q": "“{}”",
        "size": "US {}",
        "min_price": "From ${}",
        "max_price": "Up to ${}",
        "in_stock": "In stock only",
    }
    for name in ("q", "brand", "size", "min_price", "max_price", "in_stock"):
        for value in query.getlist(name):
            if not value.strip():
                continue
            rest = query.copy()
            rest.pop("page", None)
            rest.setlist(name, [other for other in query.getlist(name) if other != value])
            if name == "brand":
                label = brand_names.get(value, value)
            else:
                label = labels[name].format(value.strip())
            chips.append((label, "?" + rest.urlencode()))
    return chips
