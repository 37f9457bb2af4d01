"""Stripe-shaped objects and Stripe's form encoding, for the stand-in.

Shapes follow Stripe's API reference for every field RDK reads; ids carry
Stripe's prefixes (`cs_test_`, `pi_`, `ch_`, `re_`, `evt_`, `li_`, `price_`)."""

from __future__ import annotations

import re
import secrets
import string
from urllib.parse import parse_qsl

_ALPHABET = string.ascii_letters + string.digits
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx",
                "vnd", "vuv", "xaf", "xof", "xpf"}  # fmt: skip
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class StripeApiError(Exception):
    """An error answered in Stripe's JSON shape: {"error": {type, code, message, param}}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = (
            status,
            message,
            type,
            code,
            param,
        )
        self.extra = extra or {}

    def body(self) -> dict:
        error: dict = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


def missing(param: str) -> StripeApiError:
    return StripeApiError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def no_such(kind: str, object_id: str, param: str = "id") -> StripeApiError:
    return StripeApiError(
        404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


# Form encoding --------------------------------------------------------------------

_PART = re.compile(r"\[([^\[\]]*)\]")


def decode_form(body: str) -> dict:
    """Stripe's form encoding (`a[b][0][c]=v`, `expand[]=x`) into nested dicts and lists."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        head, _, rest = key.partition("[")
        parts = [head, *_PART.findall("[" + rest)] if rest else [head]
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise StripeApiError(400, f"Invalid parameter: {key}", param=key)
                node = child
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        node = {key: _lists(value) for key, value in node.items()}
        if node and all(key.isdigit() for key in node):
            return [node[key] for key in sorted(node, key=int)]
    return node


def as_int(value, param: str, *, minimum: int | None = None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StripeApiError(400, f"Invalid integer: {value}", param=param) from None
    if minimum is not None and number < minimum:
        raise StripeApiError(
            400, f"This value must be greater than or equal to {minimum}.", param=param
        )
    return number


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def format_amount(amount: int, currency: str) -> str:
    currency = currency.lower()
    symbol = SYMBOLS.get(currency, currency.upper() + " ")
    if currency in ZERO_DECIMAL:
        return f"{symbol}{amount:,}"
    return f"{symbol}{amount // 100:,}.{amount % 100:02d}"


# Object builders -------------------------------------------------------------------


def line_item(*, price_data: dict, quantity: int) -> dict:
    currency = price_data["currency"]
    unit_amount = price_data["unit_amount"]
    name = price_data["product_data"]["name"]
    price = {
        "id": new_id("price_"),
        "object": "price",
        "active": False,
        "currency": currency,
        "product": new_id("prod_", 14),
        "type": "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
        "livemode": False,
        "metadata": {},
    }
    return {
        "id": new_id("li_"),
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": unit_amount * quantity,
        "amount_tax": 0,
        "amount_total": unit_amount * quantity,
        "currency": currency,
        "description": name,
        "price": price,
        "quantity": quantity,
    }


def list_object(data: list, *, url: str, has_more: bool = False) -> dict:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def event(*, type: str, obj: dict, api_version: str, created: int, previous=None) -> dict:
    data: dict = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": new_id("evt_"),
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }
