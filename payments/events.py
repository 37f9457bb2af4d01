"""Typed views of the Stripe objects RDK acts on, built from Stripe's payloads here
and nowhere else.

Stripe reports a Checkout Session, payment intent, charge or dispute as a nested
dict whose fields may be missing, null, an id or an expanded object. Every such
dict is read once, in this module, into a frozen value with the fields the shop
uses; handlers registered by other apps receive a `WebhookEvent` carrying one of
these values and never see a dict. A payload that lacks what its type needs
raises `StripePayloadInvalid`, which the inbox records as the event's error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from payments.exceptions import StripePayloadInvalid

# The metadata key under which checkout_session_create names the caller's
# reference; Stripe copies it onto the payment intent, so charges and disputes
# can be traced back too.
REFERENCE_KEY = "order_id"


def _as_dict(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise StripePayloadInvalid(f"Expected a Stripe object, got {type(value).__name__}.")


def _id(data: dict, what: str) -> str:
    value = data.get("id")
    if not isinstance(value, str) or not value:
        raise StripePayloadInvalid(f"The {what} in this payload has no id.")
    return value


def _optional_id(value: Any, *, field: str, what: str) -> str | None:
    """A field Stripe sends as an id, an expanded object or null."""
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise StripePayloadInvalid(f"The {what}'s {field} is not an id.")
    return value


def _optional_int(data: dict, field: str, what: str) -> int | None:
    value = data.get(field)
    if value is None:
        return None
    if type(value) is not int:
        raise StripePayloadInvalid(f"The {what}'s {field} is not a whole number.")
    return value


def _optional_str(data: dict, field: str, what: str) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise StripePayloadInvalid(f"The {what}'s {field} is not text.")
    return value


def _reference(data: dict, *, what: str) -> str | None:
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise StripePayloadInvalid(f"The {what}'s metadata is not an object.")
    value = metadata.get(REFERENCE_KEY)
    return value if isinstance(value, str) and value else None


def _timestamp(data: dict, field: str, what: str) -> datetime | None:
    value = _optional_int(data, field, what)
    return datetime.fromtimestamp(value, tz=UTC) if value is not None else None


@dataclass(frozen=True)
class CheckoutSessionResult:
    """A Checkout Session. `reference` is the caller's (`client_reference_id`, else
    the metadata's); `payment_intent` is an id whether or not Stripe expanded it."""

    id: str
    url: str | None
    status: str
    payment_status: str
    amount_total: int | None
    currency: str | None
    expires_at: datetime | None
    payment_intent: str | None
    client_reference_id: str | None
    reference: str | None = None
    created: datetime | None = None
    # Stripe's live or test mode of the session; None when the object did not say.
    livemode: bool | None = None

    @property
    def is_paid(self) -> bool:
        return self.payment_status == "paid"

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @classmethod
    def from_stripe(cls, session: Any) -> CheckoutSessionResult:
        what = "Checkout Session"
        data = _as_dict(session)
        client_reference_id = _optional_str(data, "client_reference_id", what) or None
        return cls(
            id=_id(data, what),
            url=_optional_str(data, "url", what),
            status=_optional_str(data, "status", what) or "",
            payment_status=_optional_str(data, "payment_status", what) or "",
            amount_total=_optional_int(data, "amount_total", what),
            currency=_optional_str(data, "currency", what),
            expires_at=_timestamp(data, "expires_at", what),
            payment_intent=_optional_id(
                data.get("payment_intent"), field="payment_intent", what=what
            ),
            client_reference_id=client_reference_id,
            reference=client_reference_id or _reference(data, what=what),
            created=_timestamp(data, "created", what),
            livemode=data["livemode"] if isinstance(data.get("livemode"), bool) else None,
        )


@dataclass(frozen=True)
class PaymentIntentSummary:
    """A payment intent: its caller's reference and, after a decline, why."""

    id: str
    reference: str | None
    failure_message: str

    @classmethod
    def from_stripe(cls, intent: Any) -> PaymentIntentSummary:
        what = "payment intent"
        data = _as_dict(intent)
        error = data.get("last_payment_error") or {}
        message = error.get("message") if isinstance(error, dict) else None
        return cls(
            id=_id(data, what),
            reference=_reference(data, what=what),
            failure_message=message if isinstance(message, str) else "",
        )


@dataclass(frozen=True)
class ChargeSummary:
    """A charge: which payment it belongs to and how much of it is refunded in
    total (`amount_refunded` only grows)."""

    id: str
    payment_intent: str | None
    reference: str | None
    amount_refunded: int

    @classmethod
    def from_stripe(cls, charge: Any) -> ChargeSummary:
        what = "charge"
        data = _as_dict(charge)
        return cls(
            id=_id(data, what),
            payment_intent=_optional_id(
                data.get("payment_intent"), field="payment_intent", what=what
            ),
            reference=_reference(data, what=what),
            amount_refunded=_optional_int(data, "amount_refunded", what) or 0,
        )


@dataclass(frozen=True)
class DisputeSummary:
    """A dispute (chargeback) opened on a payment."""

    id: str
    payment_intent: str | None
    reference: str | None
    amount: int | None
    reason: str

    @classmethod
    def from_stripe(cls, dispute: Any) -> DisputeSummary:
        what = "dispute"
        data = _as_dict(dispute)
        return cls(
            id=_id(data, what),
            payment_intent=_optional_id(
                data.get("payment_intent"), field="payment_intent", what=what
            ),
            reference=_reference(data, what=what),
            amount=_optional_int(data, "amount", what),
            reason=_optional_str(data, "reason", what) or "",
        )


@dataclass(frozen=True)
class StripeObjectSummary:
    """Any other object: its id and the caller's reference, when it names one."""

    id: str
    reference: str | None

    @classmethod
    def from_stripe(cls, obj: Any) -> StripeObjectSummary:
        data = _as_dict(obj)
        value = data.get("id")
        return cls(
            id=value if isinstance(value, str) else "",
            reference=_optional_str(data, "client_reference_id", "object")
            or _reference(data, what="object"),
        )


StripeObject = (
    CheckoutSessionResult
    | PaymentIntentSummary
    | ChargeSummary
    | DisputeSummary
    | StripeObjectSummary
)

# Stripe's name of an object (its `object` field) -> the value it becomes.
_PARSERS: dict[str, Any] = {
    "checkout.session": CheckoutSessionResult.from_stripe,
    "payment_intent": PaymentIntentSummary.from_stripe,
    "charge": ChargeSummary.from_stripe,
    "dispute": DisputeSummary.from_stripe,
}
# When the object does not name itself: the event type's prefix (longest first).
_BY_EVENT_TYPE: tuple[tuple[str, str], ...] = (
    ("checkout.session.", "checkout.session"),
    ("payment_intent.", "payment_intent"),
    ("charge.dispute.", "dispute"),
    ("charge.", "charge"),
)


@dataclass(frozen=True)
class WebhookEvent:
    """What a registered handler receives: the stored event's id and type, and its
    object as a typed value."""

    stripe_id: str
    type: str
    object: StripeObject


def event_object_parse(*, event_type: str, payload: Any) -> StripeObject:
    """The typed `data.object` of an event payload. Raises StripePayloadInvalid."""
    if not isinstance(payload, dict):
        raise StripePayloadInvalid("The event payload is not an object.")
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise StripePayloadInvalid(f"The {event_type} event has no data.object.")
    name = obj.get("object")
    if not isinstance(name, str) or name not in _PARSERS:
        name = next((n for prefix, n in _BY_EVENT_TYPE if event_type.startswith(prefix)), "")
    parse = _PARSERS.get(name, StripeObjectSummary.from_stripe)
    return parse(obj)
