"""The /products query string, validated. The API validates the same filters
with its own serializer (catalog.apis); both produce `ProductFilters`."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.http import QueryDict

from catalog.models import SizeScheme
from catalog.selectors import DEFAULT_SORT, ProductFilters
from catalog.services import size_run

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
        super().clean()
        data = self.cleaned_data
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


STEP_CHOICES = [("0.5", "Half sizes"), ("1", "Whole sizes")]
MAX_RUN = 60
_STOCK_ITEM = re.compile(r"^\s*(\d{1,2}(?:\.[05])?)\s*[=:]\s*(\d{1,5})\s*$")


class SizeRunForm(forms.Form):
    """Staff's "add a whole size run" fields (the product admin form mixes
    them in): US 7 to 13 in half sizes, N pairs each, some sizes set apart."""

    run_scheme = forms.ChoiceField(
        required=False, choices=SizeScheme.choices, initial="US", label="Size scheme"
    )
    run_from = forms.DecimalField(
        required=False, min_value=1, max_value=60, decimal_places=1, label="From size"
    )
    run_to = forms.DecimalField(
        required=False, min_value=1, max_value=60, decimal_places=1, label="To size"
    )
    run_step = forms.ChoiceField(required=False, choices=STEP_CHOICES, initial="0.5", label="Step")
    run_stock = forms.IntegerField(
        required=False, min_value=0, max_value=99_999, initial=0, label="Pairs per size"
    )
    run_stock_by_size = forms.CharField(
        required=False,
        max_length=500,
        label="Stock of some sizes",
        help_text="Optional, overrides pairs per size: 9=5, 9.5=0, 10=12.",
    )

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        first, last = data.get("run_from"), data.get("run_to")
        if first is None and last is None:
            return data
        if first is None or last is None:
            self.add_error("run_to" if last is None else "run_from", "Give both ends of the run.")
            return data
        step = Decimal(data.get("run_step") or "0.5")
        if last < first:
            self.add_error("run_to", "The last size must not be below the first.")
        elif first % step or last % step:
            self.add_error("run_from", f"Both ends must be multiples of {step:f}.")
        elif (last - first) / step + 1 > MAX_RUN:
            self.add_error("run_to", f"At most {MAX_RUN} sizes at once.")
        stock = {}
        for item in filter(str.strip, (data.get("run_stock_by_size") or "").split(",")):
            match = _STOCK_ITEM.match(item)
            if match is None:
                self.add_error("run_stock_by_size", f"“{item.strip()}” is not size=pairs.")
                break
            stock[Decimal(match[1])] = int(match[2])
        data["run_stock_map"] = stock
        return data

    def size_run(self) -> dict | None:
        """Arguments for `variants_add_size_run`, or None when no run was asked."""
        data = self.cleaned_data
        if data.get("run_from") is None:
            return None
        sizes = size_run(
            first=data["run_from"], last=data["run_to"], step=Decimal(data["run_step"] or "0.5")
        )
        default = data.get("run_stock") or 0
        stock = {size: data["run_stock_map"].get(size, default) for size in sizes}
        return {"size_scheme": data.get("run_scheme") or "US", "sizes": sizes, "stock": stock}
