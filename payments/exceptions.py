"""Errors of the Stripe boundary. Each message is fit to show to the person acting;
none carries a key, a secret or card data."""

from __future__ import annotations

from rdk.exceptions import RdkError


class PaymentsError(RdkError):
    code = "payments_error"


class StripeUnavailable(PaymentsError):
    """Stripe could not be reached or answered with a server error or rate limit
    after the gateway's retries. Trying again later is safe (idempotency keys)."""

    code = "stripe_unavailable"


class StripeRejected(PaymentsError):
    """Stripe refused the request as invalid (bad parameters, an idempotency key
    reused with different parameters, an amount too large to refund)."""

    code = "stripe_rejected"


class StripeMisconfigured(PaymentsError):
    """Stripe refused our credentials: an operator must fix the keys."""

    code = "stripe_misconfigured"


class CheckoutInvalid(PaymentsError):
    """The caller's checkout or refund request is malformed before it reaches Stripe."""

    code = "checkout_invalid"


class WebhookRejected(PaymentsError):
    """An inbound webhook failed verification; `reason` is a short, loggable code."""

    code = "webhook_rejected"

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason, code=self.code)
        self.reason = reason


class EventNotFound(PaymentsError):
    code = "event_not_found"


class EventNotHandleable(PaymentsError):
    """Only a failed event can be marked handled, and only with a reason."""

    code = "event_not_handleable"


class StripePayloadInvalid(PaymentsError):
    """A Stripe object (an event's `data.object`, a retrieved session) lacks a
    field its type needs or holds one of the wrong kind. The event is marked
    failed with this message; nothing is written."""

    code = "stripe_payload_invalid"
