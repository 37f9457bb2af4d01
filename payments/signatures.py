"""Verification of inbound webhooks: Stripe's `Stripe-Signature` scheme
(`t=<unix time>,v1=<hex HMAC-SHA256 of "{t}.{body}">`), checked against every
configured secret so that old and new both pass during a rotation.

The SDK checks the HMAC (`stripe.WebhookSignature.verify_header`); the timestamp
is checked here in both directions, because the SDK refuses only stale ones."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import stripe

from payments.exceptions import WebhookRejected

TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 256 * 1024


def _timestamp(header: str) -> int:
    stamps = [item[2:] for item in header.split(",") if item.strip().startswith("t=")]
    if len(stamps) != 1 or not stamps[0].strip().isdigit():
        raise WebhookRejected("malformed_signature_header")
    if not any(item.strip().startswith("v1=") for item in header.split(",")):
        raise WebhookRejected("no_v1_signature")
    return int(stamps[0])


def event_verify(
    *,
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict:
    """Return the verified event as a dict or raise WebhookRejected(reason)."""
    if len(payload) > MAX_BODY_BYTES:
        raise WebhookRejected("body_too_large")
    if not header:
        raise WebhookRejected("missing_signature")
    if not secrets:
        raise WebhookRejected("no_secret_configured")
    timestamp = _timestamp(header)
    now = time.time() if now is None else now
    if timestamp < now - tolerance:
        raise WebhookRejected("stale_timestamp")
    if timestamp > now + tolerance:
        raise WebhookRejected("future_timestamp")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookRejected("not_utf8") from exc
    if not any(_matches(text, header, secret) for secret in secrets):
        raise WebhookRejected("bad_signature")
    try:
        event = json.loads(text)
    except ValueError as exc:
        raise WebhookRejected("not_json") from exc
    if not _looks_like_event(event):
        raise WebhookRejected("not_an_event")
    return event


def _matches(text: str, header: str, secret: str) -> bool:
    try:
        return stripe.WebhookSignature.verify_header(text, header, secret, tolerance=None)
    except stripe.SignatureVerificationError:
        return False


def _looks_like_event(event: object) -> bool:
    if not isinstance(event, dict) or event.get("object") != "event":
        return False
    event_id, event_type = event.get("id"), event.get("type")
    data = event.get("data")
    return (
        isinstance(event_id, str)
        and 0 < len(event_id) <= 255
        and isinstance(event_type, str)
        and 0 < len(event_type) <= 100
        and isinstance(data, dict)
        and isinstance(data.get("object"), dict)
    )


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` value for `payload` (the stand-in and tests sign with it)."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)
