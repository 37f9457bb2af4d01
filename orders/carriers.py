"""The carriers the shop ships with: each one's tracking-number format and the
page where a shopper follows a parcel. `SHIPPING_CARRIERS` (settings) picks
which of them staff are offered, in order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings

from orders.exceptions import ShippingInvalid


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    tracking_url: str  # "{number}" stands for the tracking number
    pattern: str  # what a tracking number must look like, spaces removed
    example: str

    def tracking_link(self, number: str) -> str:
        return self.tracking_url.format(number=quote(number, safe=""))


CARRIERS = {
    carrier.code: carrier
    for carrier in [
        Carrier(
            "usps",
            "USPS",
            "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
            r"\d{20,22}|[A-Z]{2}\d{9}US",
            "9400111899223100000000",
        ),
        Carrier(
            "ups",
            "UPS",
            "https://www.ups.com/track?tracknum={number}",
            r"1Z[0-9A-Z]{16}",
            "1Z999AA10123456784",
        ),
        Carrier(
            "fedex",
            "FedEx",
            "https://www.fedex.com/fedextrack/?trknbr={number}",
            r"\d{12}|\d{15}|\d{20}",
            "123456789012",
        ),
        Carrier(
            "dhl",
            "DHL Express",
            "https://www.dhl.com/global-en/home/tracking/tracking-express.html"
            "?tracking-id={number}",
            r"\d{10}",
            "1234567890",
        ),
        Carrier(
            "royal_mail",
            "Royal Mail",
            "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
            r"[A-Z]{2}\d{9}GB",
            "AB123456789GB",
        ),
        Carrier(
            "canada_post",
            "Canada Post",
            "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}",
            r"\d{16}|[A-Z]{2}\d{9}CA",
            "1234567890123456",
        ),
    ]
}


def carriers_offered() -> list[Carrier]:
    """The carriers staff may choose, in the configured order."""
    codes = getattr(settings, "SHIPPING_CARRIERS", list(CARRIERS))
    return [CARRIERS[code] for code in codes if code in CARRIERS]


def carrier_get(code: str) -> Carrier:
    carrier = next((c for c in carriers_offered() if c.code == code), None)
    if carrier is None:
        names = ", ".join(c.name for c in carriers_offered())
        raise ShippingInvalid(f"Choose a carrier the shop ships with: {names}.")
    return carrier


def tracking_number_clean(*, carrier: Carrier, number: str) -> str:
    """The number without spaces or dashes, upper case; ShippingInvalid if it
    does not have the carrier's format."""
    cleaned = re.sub(r"[\s-]", "", number or "").upper()
    if not re.fullmatch(carrier.pattern, cleaned):
        raise ShippingInvalid(
            f"That is not a {carrier.name} tracking number; they look like {carrier.example}."
        )
    return cleaned
