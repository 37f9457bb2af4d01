"""Shipping addresses: the countries the shop ships to, each with its postal
code format, and the one validator every address goes through (checkout, the
profile). `SHIPPING_COUNTRIES` (settings) picks the countries, in order."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from django.conf import settings

from orders.exceptions import AddressInvalid


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    postal_pattern: str  # upper-cased input must match this in full
    postal_example: str
    region_required: bool = False


COUNTRIES = {
    c.code: c
    for c in [
        Country("US", "United States", r"\d{5}(-\d{4})?", "94107 or 94107-1234", True),
        Country("CA", "Canada", r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d",
                "K1A 0B1", True),
        Country("GB", "United Kingdom",
                r"(GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})", "SW1A 1AA"),
        Country("IE", "Ireland", r"([AC-FHKNPRTV-Y]\d{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}",
                "D02 X285"),
        Country("DE", "Germany", r"\d{5}", "10115"),
        Country("FR", "France", r"\d{5}", "75001"),
        Country("IT", "Italy", r"\d{5}", "00184"),
        Country("ES", "Spain", r"\d{5}", "28013"),
        Country("NL", "Netherlands", r"\d{4} ?[A-Z]{2}", "1012 AB"),
        Country("BE", "Belgium", r"\d{4}", "1000"),
        Country("AT", "Austria", r"\d{4}", "1010"),
        Country("PT", "Portugal", r"\d{4}-\d{3}", "1100-148"),
        Country("SE", "Sweden", r"\d{3} ?\d{2}", "111 22"),
        Country("DK", "Denmark", r"\d{4}", "1050"),
        Country("FI", "Finland", r"\d{5}", "00100"),
        Country("PL", "Poland", r"\d{2}-\d{3}", "00-001"),
    ]
}  # fmt: skip


def countries_offered() -> list[Country]:
    codes = getattr(settings, "SHIPPING_COUNTRIES", list(COUNTRIES))
    return [COUNTRIES[code] for code in codes if code in COUNTRIES]


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    region: str = ""
    phone: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def text(self) -> str:
        """The address as it goes on a parcel, one part a line."""
        country = COUNTRIES.get(self.country)
        place = " ".join(p for p in (self.city, self.region, self.postal_code) if p)
        parts = [
            self.name,
            self.line1,
            self.line2,
            place,
            country.name if country else self.country,
        ]
        return "\n".join(p for p in parts if p)


_PHONE = re.compile(r"\+?[\d ()./-]{6,20}")


def address_from_profile(profile) -> dict[str, str]:
    """A saved profile address as initial values for the address form."""
    return {
        "name": profile.full_name,
        "line1": profile.address_line1,
        "line2": profile.address_line2,
        "city": profile.city,
        "region": profile.region,
        "postal_code": profile.postal_code,
        "country": profile.country,
        "phone": profile.phone,
    }


def address_clean(**fields: str) -> ShippingAddress:
    """Validate and normalise an address; AddressInvalid carries one message a
    field (`errors`), each fit to show next to that field."""
    data = {k: " ".join(str(v or "").split()) for k, v in fields.items()}
    errors: dict[str, str] = {}
    for name, label in (
        ("name", "your name"),
        ("line1", "the street address"),
        ("city", "the city"),
        ("postal_code", "the postal code"),
    ):
        if not data.get(name):
            errors[name] = f"Enter {label}."
    for name, value in data.items():
        if len(value) > 200:
            errors[name] = "That is too long (200 characters at most)."
    country = COUNTRIES.get(data.get("country", "").upper())
    if country is None or country not in countries_offered():
        errors["country"] = "We do not ship to that country; choose one from the list."
    else:
        data["country"] = country.code
        postal = data.get("postal_code", "").upper()
        if postal and not re.fullmatch(country.postal_pattern, postal):
            errors["postal_code"] = (
                f"That is not a {country.name} postal code; it looks like {country.postal_example}."
            )
        data["postal_code"] = postal
        if country.region_required and not data.get("region"):
            errors["region"] = "Enter the state or province."
    if data.get("phone") and not _PHONE.fullmatch(data["phone"]):
        errors["phone"] = "Enter a phone number with digits only, e.g. +1 415 555 0100."
    if errors:
        raise AddressInvalid(errors)
    known = {f for f in ShippingAddress.__dataclass_fields__}
    return ShippingAddress(**{k: v for k, v in data.items() if k in known})
