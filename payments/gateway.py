"""The one place RDK talks to Stripe: a configured `stripe.StripeClient`.

The API version, timeouts and retry count are pinned here; the key and base
address come from settings (`STRIPE_SECRET_KEY`, `STRIPE_API_BASE`, the local
stand-in when set). Every call goes through `stripe_call`, which turns Stripe's
errors into `payments.exceptions`, so no caller ever sees a `stripe.*Error`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import stripe
from django.conf import settings

from payments.exceptions import (
    PaymentsError,
    StripeMisconfigured,
    StripeRejected,
    StripeUnavailable,
)
from rdk.degradations import degradation_clear, degradation_report

if TYPE_CHECKING:
    from stripe._base_address import BaseAddresses

logger = logging.getLogger(__name__)

# Stripe's API version every request and webhook payload is read against. Change
# it here, together with the webhook endpoint's version in the Dashboard.
API_VERSION = "2026-10-28.endive"
# (connect, read) seconds: checkout must fail fast enough for the shopper to
# retry. With the retry below a call gives up within about 24 s, under the
# 30 s after which gunicorn replaces a silent worker (rdk/gunicorn_conf.py).
TIMEOUT = (3.0, 8.0)
# Retries on connection errors, 409 lock timeouts, 429 and 5xx; POSTs carry
# idempotency keys, so retrying never creates a second object.
MAX_NETWORK_RETRIES = 1


@functools.lru_cache(maxsize=8)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    base_addresses: BaseAddresses | None = {"api": api_base} if api_base else None
    return stripe.StripeClient(
        api_key,
        stripe_version=API_VERSION,
        base_addresses=base_addresses,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=TIMEOUT),
    )


def client() -> stripe.StripeClient:
    """The Stripe client for the current settings (cached per key and base)."""
    return _client(settings.STRIPE_SECRET_KEY, (settings.STRIPE_API_BASE or "").rstrip("/"))


DEGRADATION = "stripe"
DEGRADED_SUMMARY = (
    "Stripe is not answering: shoppers are told to try again, their orders stay pending "
    "with stock reserved, and a retry reuses the same Checkout Session (idempotency keys)."
)


@contextmanager
def stripe_call(operation: str) -> Iterator[None]:
    """Run one Stripe call; translate its errors and log them without secrets.
    Stripe not answering is also reported as a degradation (the ops home)."""
    try:
        yield
    except stripe.AuthenticationError as exc:
        _log_failure(operation, exc)
        raise StripeMisconfigured(
            "Payments are not configured correctly; the shop has been alerted."
        ) from exc
    except stripe.PermissionError as exc:
        _log_failure(operation, exc)
        raise StripeMisconfigured(
            "Payments are not configured correctly; the shop has been alerted."
        ) from exc
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        _log_failure(operation, exc)
        degradation_report(
            DEGRADATION, summary=DEGRADED_SUMMARY, reason=f"{type(exc).__name__} on {operation}"
        )
        raise StripeUnavailable(
            "The payment service is not answering right now. Please try again in a moment."
        ) from exc
    except stripe.StripeError as exc:  # invalid request, idempotency, card errors
        _log_failure(operation, exc)
        raise StripeRejected(
            exc.user_message or "The payment service refused the request."
        ) from exc
    else:
        degradation_clear(DEGRADATION)


def _log_failure(operation: str, exc: stripe.StripeError) -> None:
    logger.warning(
        "stripe.call_failed",
        extra={
            "operation": operation,
            "error_type": type(exc).__name__,
            "http_status": exc.http_status,
            "stripe_code": exc.code,
            "stripe_request_id": exc.request_id,
        },
    )


def operator_message(error: PaymentsError) -> str:
    """A payments error worded for an operator at a terminal: what failed and
    where, instead of the shopper's "try again in a moment"."""
    where = settings.STRIPE_API_BASE or "https://api.stripe.com"
    if isinstance(error, StripeUnavailable):
        return (
            f"Stripe at {where} did not answer (see the stripe.call_failed log line). "
            "Locally, is the stand-in running? `make run` starts it."
        )
    if isinstance(error, StripeMisconfigured):
        return f"Stripe at {where} refused RDK's credentials: check STRIPE_SECRET_KEY."
    return str(error)
