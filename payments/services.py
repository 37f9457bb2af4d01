"""Payments services: Checkout Sessions and refunds at Stripe, and the webhook
inbox (receive, dispatch, replay). `payments` knows nothing of orders: callers
pass a `reference` (the order's public id) and register event handlers in
`payments.registry`."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments import registry
from payments.events import (
    CheckoutSessionResult,
    PaymentIntentSummary,
    WebhookEvent,
    event_object_parse,
)
from payments.exceptions import (
    CheckoutInvalid,
    EventNotFound,
    EventNotHandleable,
    StripePayloadInvalid,
)
from payments.gateway import client, stripe_call
from payments.models import StripeEvent, StripeEventReplay
from rdk.audit import audit_record
from rdk.inserts import insert_once
from rdk.requestid import get_request_id
from rdk.rls import rls_service_scope

if TYPE_CHECKING:
    from stripe.params.checkout import (
        SessionCreateParams,
        SessionCreateParamsLineItem,
        SessionListParams,
    )

logger = logging.getLogger(__name__)

_CURRENCY = re.compile(r"[a-z]{3}")
_LAST_ERROR_MAX = 2000


# Checkout Sessions -------------------------------------------------------------


def _line_item_params(line_items: list[dict[str, Any]]) -> list[SessionCreateParamsLineItem]:
    if not line_items:
        raise CheckoutInvalid("A checkout needs at least one line item.")
    params: list[SessionCreateParamsLineItem] = []
    currencies = set()
    for number, item in enumerate(line_items, start=1):
        try:
            name = str(item["name"]).strip()
            unit_amount, quantity = item["unit_amount"], item["quantity"]
            currency = str(item["currency"]).lower()
        except (KeyError, TypeError) as exc:
            raise CheckoutInvalid(
                f"Line item {number} needs name, unit_amount, currency and quantity."
            ) from exc
        if not name:
            raise CheckoutInvalid(f"Line item {number} has no name.")
        if type(unit_amount) is not int or unit_amount < 0:
            raise CheckoutInvalid(f"Line item {number}: unit_amount must be whole minor units.")
        if type(quantity) is not int or quantity < 1:
            raise CheckoutInvalid(f"Line item {number}: quantity must be 1 or more.")
        if not _CURRENCY.fullmatch(currency):
            raise CheckoutInvalid(f"Line item {number}: currency must be a 3-letter code.")
        currencies.add(currency)
        params.append(
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": unit_amount,
                    "product_data": {"name": name[:250]},
                },
                "quantity": quantity,
            }
        )
    if len(currencies) > 1:
        raise CheckoutInvalid("All line items of a checkout must share one currency.")
    return params


def stripe_livemode() -> bool:
    """Whether the configured key is a live one (sk_live_… / rk_live_…): a
    payment is only believed when Stripe reports the same mode."""
    key = getattr(settings, "STRIPE_SECRET_KEY", "") or ""
    return key.startswith(("sk_live_", "rk_live_"))


def checkout_idempotency_key(*, reference: str, attempt: int) -> str:
    """The same order and attempt always map to the same Stripe session."""
    return f"rdk-checkout-{reference}-{attempt}"


def checkout_session_create(
    *,
    reference: str,
    line_items: list[dict[str, Any]],
    customer_email: str | None,
    expires_at: datetime,
    success_url: str,
    cancel_url: str,
    attempt: int,
) -> CheckoutSessionResult:
    """Create (or, for the same reference and attempt, get back) a Checkout Session.

    `line_items`: `{"name", "unit_amount", "currency", "quantity"}` in minor units,
    taken from the database by the caller. Raises CheckoutInvalid for bad input,
    StripeUnavailable (retry later) or StripeRejected."""
    if not reference:
        raise CheckoutInvalid("A checkout needs a reference.")
    if type(attempt) is not int or attempt < 1:
        raise CheckoutInvalid("attempt must be 1 or more.")
    if timezone.is_naive(expires_at):
        raise CheckoutInvalid("expires_at must be timezone-aware.")
    metadata = {"order_id": reference}
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": _line_item_params(line_items),
        "client_reference_id": reference,
        "metadata": metadata,
        "payment_intent_data": {"metadata": dict(metadata)},
        "expires_at": int(expires_at.timestamp()),
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if customer_email:
        params["customer_email"] = customer_email
    key = checkout_idempotency_key(reference=reference, attempt=attempt)
    with stripe_call("checkout_session_create"):
        session = client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": key}
        )
    result = CheckoutSessionResult.from_stripe(session)
    logger.info(
        "stripe.checkout_session_created",
        extra={"reference": reference, "attempt": attempt, "session_id": result.id},
    )
    return result


def checkout_session_retrieve(session_id: str) -> CheckoutSessionResult:
    """The session as Stripe reports it now."""
    with stripe_call("checkout_session_retrieve"):
        session = client().v1.checkout.sessions.retrieve(session_id)
    return CheckoutSessionResult.from_stripe(session)


def payment_intent_retrieve(payment_intent: str) -> PaymentIntentSummary:
    """The payment intent as Stripe reports it now (its metadata names the reference)."""
    with stripe_call("payment_intent_retrieve"):
        intent = client().v1.payment_intents.retrieve(payment_intent)
    return PaymentIntentSummary.from_stripe(intent)


def checkout_session_expire(session_id: str) -> CheckoutSessionResult:
    """Expire an open session so it can no longer be paid (the shopper cancelled)."""
    with stripe_call("checkout_session_expire"):
        session = client().v1.checkout.sessions.expire(session_id)
    return CheckoutSessionResult.from_stripe(session)


def checkout_sessions_paid_since(*, since: datetime) -> Iterator[CheckoutSessionResult]:
    """Every completed, paid Checkout Session created at or after `since`."""
    params: SessionListParams = {
        "created": {"gte": int(since.timestamp())},
        "status": "complete",
        "limit": 100,
    }
    with stripe_call("checkout_sessions_list"):
        page = client().v1.checkout.sessions.list(params=params)
        for session in page.auto_paging_iter():
            result = CheckoutSessionResult.from_stripe(session)
            if result.is_paid:
                yield result


@dataclass(frozen=True)
class RefundResult:
    id: str
    amount: int
    currency: str
    status: str
    payment_intent: str | None


def refund_create(*, payment_intent: str, amount: int, reference: str) -> RefundResult:
    """Refund `amount` minor units of a payment. `reference` names this refund
    (e.g. "<order>-refund-<n>"): it is the idempotency key, so a retried call
    never refunds twice. Stripe refuses more than was captured (StripeRejected)."""
    if type(amount) is not int or amount < 1:
        raise CheckoutInvalid("A refund amount must be 1 or more minor units.")
    if not payment_intent or not reference:
        raise CheckoutInvalid("A refund needs a payment intent and a reference.")
    with stripe_call("refund_create"):
        refund = client().v1.refunds.create(
            params={
                "payment_intent": payment_intent,
                "amount": amount,
                "metadata": {"reference": reference},
            },
            options={"idempotency_key": f"rdk-refund-{reference}"},
        )
    data = refund.to_dict()
    logger.info(
        "stripe.refund_created",
        extra={"reference": reference, "refund_id": data["id"], "amount": amount},
    )
    return RefundResult(
        id=data["id"],
        amount=data["amount"],
        currency=data["currency"],
        status=data.get("status") or "",
        payment_intent=data.get("payment_intent"),
    )


@dataclass(frozen=True)
class ReconcileRow:
    session_id: str
    reference: str | None
    amount_total: int | None
    currency: str | None
    created: datetime | None
    recorded: bool | None  # None: no payment check registered


def reconcile_list(*, since: datetime, include_recorded: bool = False) -> list[ReconcileRow]:
    """Sessions Stripe reports paid, with whether RDK recorded the payment of their
    reference."""
    rows = []
    for session in checkout_sessions_paid_since(since=since):
        reference = session.client_reference_id
        recorded = registry.reference_is_paid(reference) if reference else False
        if recorded and not include_recorded:
            continue
        rows.append(
            ReconcileRow(
                session_id=session.id,
                reference=reference,
                amount_total=session.amount_total,
                currency=session.currency,
                created=session.created,
                recorded=recorded,
            )
        )
    return rows


@dataclass(frozen=True)
class ReconcileApplied:
    session_id: str
    reference: str | None
    recorded: bool
    error: str = ""


def reconcile_apply(*, since: datetime) -> list[ReconcileApplied]:
    """Record the payment of every session Stripe reports paid whose reference has
    none, through the recorder `orders` registered (the webhook's own function).
    Each session is retrieved again first, so it is recorded from Stripe's current
    view."""
    record = registry.payment_recorder()
    if record is None:
        raise CheckoutInvalid("No payment recorder is registered; nothing can be applied.")
    results = []
    for row in reconcile_list(since=since):
        if row.recorded is not False:
            continue
        try:
            session = checkout_session_retrieve(row.session_id)
            with transaction.atomic(), rls_service_scope():
                done = bool(record(session))
        except Exception as exc:  # one bad session must not stop the others
            logger.exception("stripe.reconcile_failed", extra={"session_id": row.session_id})
            error = f"{type(exc).__name__}: {exc}"
            results.append(ReconcileApplied(row.session_id, row.reference, False, error))
            continue
        logger.info(
            "stripe.reconcile_applied",
            extra={"session_id": row.session_id, "reference": row.reference, "recorded": done},
        )
        results.append(ReconcileApplied(row.session_id, row.reference, done))
    return results


# The webhook inbox ---------------------------------------------------------------


@dataclass(frozen=True)
class WebhookOutcome:
    """`retry`: the event failed in a way a later delivery may fix (a handler's
    error); False when its payload is malformed, which Stripe would send again
    unchanged (the event stays failed, replayable from the console)."""

    event: StripeEvent
    duplicate: bool
    retry: bool = False

    @property
    def status(self) -> str:
        return self.event.status


def _event_new(
    event: dict[str, Any],
    request_id: str | None,
    *,
    status: str = StripeEvent.Status.RECEIVED,
    attempts: int = 0,
    last_error: str = "",
) -> StripeEvent:
    """The row a first delivery of `event` stores (unsaved). Its payload is the
    verified dict itself, which the handler's typed values are then read from:
    the stored row is never read back."""
    created = event.get("created")
    return StripeEvent(
        stripe_id=event["id"],
        type=event["type"],
        api_version=str(event.get("api_version") or "")[:64],
        livemode=bool(event.get("livemode")),
        payload=event,
        stripe_created=(
            datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int) else None
        ),
        request_ids=[request_id] if request_id else [],
        status=status,
        attempts=attempts,
        last_error=last_error,
        processed_at=timezone.now() if status in _DONE else None,
    )


def _event_redelivered(event: dict[str, Any], request_id: str | None) -> StripeEvent:
    """The stored row of an event delivered again, locked and with this delivery
    counted. Its payload column is not read: Stripe sends the same payload for
    the same event id, and the verified copy in hand is used instead."""
    locked = StripeEvent.objects.select_for_update().defer("payload").get(stripe_id=event["id"])
    locked.payload = event
    locked.delivery_count += 1
    if request_id:
        locked.request_ids = [*locked.request_ids, request_id][-50:]
    locked.save(update_fields=["delivery_count", "request_ids"])
    return locked


def _webhook_event(event: StripeEvent) -> WebhookEvent:
    """The typed event a handler receives. Raises StripePayloadInvalid (the event
    is then marked failed with that message)."""
    return WebhookEvent(
        stripe_id=event.stripe_id,
        type=event.type,
        object=event_object_parse(event_type=event.type, payload=event.payload),
    )


def _failed(event: StripeEvent, exc: Exception) -> None:
    event.status = StripeEvent.Status.FAILED
    event.last_error = f"{type(exc).__name__}: {exc}"[:_LAST_ERROR_MAX]
    event.save(update_fields=["status", "attempts", "last_error"])


def _dispatch(event: StripeEvent) -> bool:
    """Run the handler for a stored event again (a failed event delivered or
    replayed once more) inside a savepoint and record the result. Must be
    called inside a transaction under `rls_service_scope` that holds the
    event's row locked: a webhook acts for the shop, not for one shopper, so
    handlers see every shopper's rows (rdk.rls). Returns False when the event
    failed on a malformed payload (no retry can fix it)."""
    handler = registry.handler_for(event.type)
    if handler is None:
        event.status = StripeEvent.Status.IGNORED
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "processed_at"])
        return True
    event.attempts += 1
    extra = {"stripe_event": event.stripe_id, "type": event.type, "attempts": event.attempts}
    try:
        with transaction.atomic():
            handler(_webhook_event(event))
    except StripePayloadInvalid as exc:
        _failed(event, exc)
        logger.warning("stripe.event_payload_invalid", extra={**extra, "error": str(exc)})
        return False
    except Exception as exc:
        _failed(event, exc)
        logger.exception("stripe.event_failed", extra=extra)
        return True
    event.status = StripeEvent.Status.PROCESSED
    event.last_error = ""
    event.processed_at = timezone.now()
    event.save(update_fields=["status", "attempts", "last_error", "processed_at"])
    return True


_DONE = (StripeEvent.Status.PROCESSED, StripeEvent.Status.IGNORED)


class _FirstDeliveryFailed(Exception):
    """Carries a handler's error out of a first delivery's transaction, which
    it rolls back whole: the event's row with the handler's writes."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _first_delivery_handle(stored: StripeEvent) -> None:
    """Run the handler of an event this delivery has just inserted, already
    marked with the outcome it will have if the handler returns (processed, or
    ignored without a handler): its success is then the transaction's commit,
    with no savepoint and no second write of the row."""
    handler = registry.handler_for(stored.type)
    if handler is None:
        return
    try:
        handler(_webhook_event(stored))
    except Exception as exc:
        raise _FirstDeliveryFailed(exc) from exc


def _first_delivery_failed(
    event: dict[str, Any], request_id: str | None, exc: Exception
) -> tuple[StripeEvent, bool]:
    """Store a first delivery whose handler failed (its transaction rolled
    back): the event as failed with the error, in a transaction of its own.
    A concurrent delivery may have stored the event since: then this delivery
    is counted on that row, and marked failed there unless it succeeded.
    Returns the row and whether a later delivery may fix it (not for a
    malformed payload: Stripe sends the same one again)."""
    retry = not isinstance(exc, StripePayloadInvalid)
    extra = {"stripe_event": event["id"], "type": event["type"]}
    if retry:
        logger.error("stripe.event_failed", extra=extra, exc_info=exc)
    else:
        logger.warning("stripe.event_payload_invalid", extra={**extra, "error": str(exc)})
    error = f"{type(exc).__name__}: {exc}"[:_LAST_ERROR_MAX]
    with rls_service_scope():
        stored = _event_new(
            event, request_id, status=StripeEvent.Status.FAILED, attempts=1, last_error=error
        )
        if insert_once(stored):
            return stored, retry
        stored = _event_redelivered(event, request_id)
        if stored.status in _DONE:
            return stored, False
        stored.attempts += 1
        stored.status = StripeEvent.Status.FAILED
        stored.last_error = error
        stored.save(update_fields=["status", "attempts", "last_error"])
    return stored, retry


def webhook_receive(*, event: dict[str, Any], request_id: str | None) -> WebhookOutcome:
    """Store a verified event and process it once, in one transaction: every
    delivery after the first that succeeded changes nothing but its count.

    A first delivery inserts the event already marked with the outcome its
    handler is about to have (processed; ignored without a handler), with
    `INSERT … ON CONFLICT DO NOTHING RETURNING` (rdk.inserts), and runs the
    handler in the same transaction: the uncommitted row is the lock (a
    concurrent delivery of the same event waits on the unique index until
    this one ends), and the commit makes the handler's effect and the event's
    status durable together. A handler's error rolls the whole transaction
    back, effect and row alike; the event is then stored as failed, with the
    error, in a transaction of its own (`_first_delivery_failed`).

    A later delivery inserts nothing and locks the stored row instead; a
    failed event is then dispatched again, its handler in a savepoint.

    Round trips for a new event: BEGIN, the scope, the insert, the handler's
    statements, COMMIT: no savepoint around the handler and no update of the
    event after it (three round trips fewer). A duplicate: BEGIN, the scope,
    the insert that inserts nothing, the row lock, its count, COMMIT. If the
    process dies before COMMIT nothing is stored and Stripe, which got no
    answer, delivers the event again."""
    retry = False
    try:
        with rls_service_scope():
            has_handler = registry.handler_for(event["type"]) is not None
            stored = _event_new(
                event,
                request_id,
                status=StripeEvent.Status.PROCESSED if has_handler else StripeEvent.Status.IGNORED,
                attempts=1 if has_handler else 0,
            )
            if insert_once(stored):
                duplicate = False
                _first_delivery_handle(stored)
            else:
                stored = _event_redelivered(event, request_id)
                duplicate = stored.status in _DONE
                if not duplicate:
                    retry = _dispatch(stored) and stored.status == StripeEvent.Status.FAILED
    except _FirstDeliveryFailed as failed:
        duplicate = False
        stored, retry = _first_delivery_failed(event, request_id, failed.error)
    logger.info(
        "stripe.event_received",
        extra={
            "stripe_event": stored.stripe_id,
            "type": stored.type,
            "status": stored.status,
            "duplicate": duplicate,
            "delivery_count": stored.delivery_count,
        },
    )
    return WebhookOutcome(event=stored, duplicate=duplicate, retry=retry)


def event_replay(*, event: StripeEvent, actor: str) -> StripeEventReplay:
    """Run the same dispatch on the stored payload. A processed event is left
    alone (its effect already happened); received, failed and ignored events are
    dispatched again. Each replay is recorded and audited."""
    with rls_service_scope():
        locked = StripeEvent.objects.select_for_update().get(pk=event.pk)
        if locked.status == StripeEvent.Status.PROCESSED:
            outcome, error = StripeEventReplay.Outcome.ALREADY_PROCESSED, ""
        else:
            _dispatch(locked)
            outcome = StripeEventReplay.Outcome(locked.status)
            error = locked.last_error if outcome == StripeEventReplay.Outcome.FAILED else ""
        replay = StripeEventReplay.objects.create(
            event=locked,
            actor=actor,
            outcome=outcome,
            error=error,
            request_id=get_request_id() or "",
        )
    event.refresh_from_db()
    audit_record(
        action="stripe.event_replay",
        actor=actor,
        target=locked.stripe_id,
        outcome="failed" if outcome == StripeEventReplay.Outcome.FAILED else "ok",
        event_type=locked.type,
        result=outcome.value,
    )
    return replay


def event_replay_by_id(*, stripe_id: str, actor: str) -> StripeEventReplay:
    try:
        event = StripeEvent.objects.get(stripe_id=stripe_id)
    except StripeEvent.DoesNotExist as exc:
        raise EventNotFound(f"No stored Stripe event {stripe_id!r}.") from exc
    return event_replay(event=event, actor=actor)


def event_mark_handled(*, stripe_id: str, reason: str, actor: str) -> StripeEvent:
    """Close a failed event by hand: one that will never succeed (a poison
    event) stops holding /jobs/health at 503. Its error stays on record; the
    reason and who gave it are stored and audited. Replaying it stays possible."""
    reason = reason.strip()
    if not reason:
        raise EventNotHandleable("Say why the event is handled: a reason is required.")
    with transaction.atomic():
        try:
            event = StripeEvent.objects.select_for_update().get(stripe_id=stripe_id)
        except StripeEvent.DoesNotExist as exc:
            raise EventNotFound(f"No stored Stripe event {stripe_id!r}.") from exc
        if event.status != StripeEvent.Status.FAILED:
            raise EventNotHandleable(
                f"{stripe_id} is {event.get_status_display().lower()}, not failed: "
                "only a failed event can be marked handled."
            )
        event.status = StripeEvent.Status.HANDLED
        event.handled_by = actor[:150]
        event.handled_reason = reason[:2000]
        event.save(update_fields=["status", "handled_by", "handled_reason"])
        audit_record(
            action="stripe.event_handled",
            actor=actor,
            target=stripe_id,
            reason=reason,
            event_type=event.type,
        )
    logger.info("stripe.event_handled", extra={"stripe_id": stripe_id, "actor": actor})
    return event


def events_replay_failed(*, actor: str) -> list[StripeEventReplay]:
    """Replay every failed event, oldest first."""
    failed = StripeEvent.objects.filter(status=StripeEvent.Status.FAILED).order_by("received_at")
    return [event_replay(event=event, actor=actor) for event in failed]
