"""The webhook endpoint: verify, store, dispatch. Every rejection is a 400 with a
short reason, logged with the request id; nothing unverified is stored.

The signature is checked before anything is counted (an HMAC of at most
MAX_BODY_BYTES: cheap), so rejected posts count against `webhook_rejected`
and verified deliveries against `webhook`: junk from an address, however
much, never uses up what Stripe's real deliveries may send."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments import services
from payments.exceptions import WebhookRejected
from payments.signatures import MAX_BODY_BYTES, event_verify
from rdk.ratelimits import enforce, too_many_requests

logger = logging.getLogger(__name__)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    request_id = getattr(request, "request_id", None)
    try:
        if _declared_length(request) > MAX_BODY_BYTES:
            raise WebhookRejected("body_too_large")
        event = event_verify(
            payload=request.body,
            header=request.headers.get("Stripe-Signature"),
            secrets=settings.STRIPE_WEBHOOK_SECRETS,
        )
    except WebhookRejected as exc:
        exceeded = enforce(request, "webhook_rejected")
        if exceeded is not None:
            return too_many_requests(request, exceeded)
        logger.warning(
            "stripe.webhook_rejected",
            extra={"reason": exc.reason, "body_bytes": _declared_length(request)},
        )
        return JsonResponse({"error": "webhook_rejected", "reason": exc.reason}, status=400)
    exceeded = enforce(request, "webhook")
    if exceeded is not None:
        return too_many_requests(request, exceeded)
    outcome = services.webhook_receive(event=event, request_id=request_id)
    body = {"received": True, "status": outcome.status, "duplicate": outcome.duplicate}
    # A failed handler answers 500 so that Stripe delivers the event again; a
    # malformed payload answers 200 (stored, failed, replayable from the console):
    # Stripe would deliver the same payload again.
    return JsonResponse(body, status=500 if outcome.retry else 200)
