"""Orders and Stripe: checkout attempts, fulfilment, and what each webhook does.

Expiry (docs/orders.md, "Reservations and Checkout Sessions"): a session's
`expires_at` is the reservation's, but never less than Stripe's 30-minute
minimum (plus a minute for clocks); the reservation is then held
`PAYMENT_GRACE` longer than the session, so a payment made in the session's
last second is recorded before the pairs can be released.

Fulfilment is one function, `payment_fulfil(session=…)`, called by the
webhook handlers, the success page and `stripe_reconcile --apply`. It locks
the order: exactly one caller moves it to paid and sells its reserved pairs;
the others find it paid with the same payment and do nothing. A payment for an
order that can no longer take it (canceled, or already paid with another
payment) is refunded automatically and recorded on the order.

Handlers run inside the webhook inbox's savepoint, under the service
row-security scope opened by payments. An order only moves forward; an event
that needs a state the order has not reached (a refund or dispute before the
payment is recorded) first asks Stripe for the order's session and fulfils it,
and raises when Stripe still says unpaid, so the event is retried."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.db import transaction
from django.utils import timezone

from orders.exceptions import CheckoutUnavailable, InvalidTransition, PaymentMismatch
from orders.models import (
    Order,
    OrderEvent,
    OrderEventKind,
    OrderStatus,
    Reservation,
    ReservationStatus,
)
from orders.services.cart import CartStore
from orders.services.lifecycle import (
    PAID_STATES,
    order_cancel,
    order_mark_paid,
    order_record_refund,
    reservation_release_for_order,
)
from payments import services as payments
from rdk.money import money_text
from rdk.requestid import get_request_id

logger = logging.getLogger(__name__)

# Stripe refuses a Checkout Session expiring less than 30 minutes after it is
# created; one more minute covers the clock difference and the request's time.
STRIPE_MIN_EXPIRY = dt.timedelta(minutes=31)
STRIPE_MAX_EXPIRY = dt.timedelta(hours=23, minutes=59)
# The reservation outlives its session by this much: the completed webhook of a
# payment made in the session's last second arrives before the pairs are released.
PAYMENT_GRACE = dt.timedelta(minutes=5)
# An asynchronous payment (bank debit) keeps its pairs reserved while it settles.
ASYNC_PAYMENT_HOLD = dt.timedelta(days=7)

STRIPE_ACTOR = "system:stripe"


class PaymentNotRecorded(InvalidTransition):
    """An event needs a paid order, and Stripe does not report the payment yet:
    raised so that the webhook event fails and is delivered again."""

    code = "payment_not_recorded"


# Lookup ---------------------------------------------------------------------------


def _order_for_reference(reference: str | None) -> Order | None:
    try:
        key = uuid.UUID(str(reference))
    except ValueError:
        return None
    return Order.objects.filter(public_id=key).first()


def _session_reference(session: dict) -> str | None:
    return session.get("client_reference_id") or (session.get("metadata") or {}).get("order_id")


def _intent_id(value) -> str:
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


def _order_for_payment(*, payment_intent: str, metadata: dict | None) -> Order | None:
    """The order a charge, dispute or payment intent belongs to: by the order id in
    its metadata, else by the payment recorded on the order, else by asking Stripe
    for the payment intent's metadata."""
    order = _order_for_reference((metadata or {}).get("order_id"))
    if order is None and payment_intent:
        order = Order.objects.filter(payment_reference=payment_intent).first()
        if order is None:
            intent = payments.payment_intent_retrieve(payment_intent)
            order = _order_for_reference((intent.get("metadata") or {}).get("order_id"))
    return order


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


def _note(*, order: Order, kind: str, actor: str, note: str, reference: str = "") -> OrderEvent:
    """Record something that happened to the order without changing its status."""
    return OrderEvent.objects.create(
        order=order,
        kind=kind,
        from_status=order.status,
        to_status=order.status,
        actor=actor[:150],
        note=note[:300],
        reference=reference[:255],
        request_id=get_request_id() or "",
    )


# Checkout attempts -------------------------------------------------------------------


def checkout_expiry(*, reserved_until: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """The Checkout Session's expiry: the reservation's, within Stripe's limits."""
    wanted = reserved_until or now
    return min(max(wanted, now + STRIPE_MIN_EXPIRY), now + STRIPE_MAX_EXPIRY)


@transaction.atomic
def checkout_attempt_begin(*, order: Order, new_attempt: bool) -> Order:
    """Fix the parameters of the order's Checkout Session attempt before Stripe is
    called. A new attempt (the first, or after the previous session expired or
    ended unpaid) gets the next number and a fresh expiry; the reservation is
    extended to the session's expiry plus PAYMENT_GRACE. Raises
    CheckoutUnavailable when the order can no longer be paid."""
    order = _locked(order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise CheckoutUnavailable(
            f"Order {order.number} is {OrderStatus(order.status).label.lower()}; "
            "it cannot be paid any more."
        )
    now = timezone.now()
    active = order.reservations.filter(status=ReservationStatus.ACTIVE)
    if active.filter(expires_at__lte=now).exists() or not active.exists():
        reservation_release_for_order(order, "reservation expired", actor="system:expiry")
        raise CheckoutUnavailable(
            f"The reservation for order {order.number} expired and the pairs went back on sale."
            " Add them to your cart again to check out."
        )
    if order.checkout_attempt and not new_attempt and order.checkout_expires_at:
        return order
    expires_at = checkout_expiry(reserved_until=order.reserved_until, now=now)
    order.checkout_attempt += 1
    order.checkout_expires_at = expires_at
    order.checkout_session_id = ""
    order.reserved_until = expires_at + PAYMENT_GRACE
    order.save(
        update_fields=[
            "checkout_attempt",
            "checkout_expires_at",
            "checkout_session_id",
            "reserved_until",
            "updated_at",
        ]
    )
    active.update(expires_at=order.reserved_until)
    return order


@transaction.atomic
def checkout_session_record(*, order: Order, attempt: int, session_id: str) -> None:
    """Remember the session created for `attempt` (unless a newer attempt began)."""
    Order.objects.filter(pk=order.pk, checkout_attempt=attempt).update(
        checkout_session_id=session_id
    )


@transaction.atomic
def checkout_abandon(*, order: Order, store: CartStore, actor: str) -> Order:
    """The shopper left Stripe's page with "cancel": release the reservation,
    cancel the order, and put its pairs back in the cart (re-checked when the
    cart is shown). A paid order is left alone."""
    order = _locked(order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        return order
    order = order_cancel(order=order, actor=actor, reason="payment canceled by shopper")
    in_cart = store.items()
    for line in order.lines.all():
        if line.variant_id not in in_cart:
            store.put(line.variant_id, line.quantity, line.unit_amount)
    return order


# Fulfilment ------------------------------------------------------------------------------


@transaction.atomic
def payment_fulfil(*, session: dict, actor: str) -> Order | None:
    """THE fulfilment of a Checkout Session (a dict as Stripe reports it).

    Unpaid: nothing happens. Paid and the order awaits payment: the order becomes
    paid and its reserved pairs sold, exactly once. Paid again with the same
    payment: nothing happens. Paid for an order that cannot take it (canceled,
    e.g. expired, or already paid with another payment): the payment is refunded
    in full and recorded on the order. Returns the order, or None when the
    session names no order of this shop."""
    reference = _session_reference(session)
    order = _order_for_reference(reference)
    if order is None:
        logger.warning(
            "payment.unknown_reference", extra={"session_id": session.get("id"), "ref": reference}
        )
        return None
    if session.get("payment_status") != "paid":
        return order
    intent = _intent_id(session.get("payment_intent"))
    amount = session.get("amount_total")
    if not intent or type(amount) is not int:
        raise PaymentMismatch(f"Session {session.get('id')} is paid but has no payment amount.")
    order = _locked(order)
    if order.status in PAID_STATES and order.payment_reference == intent:
        return order
    if order.status == OrderStatus.PENDING_PAYMENT:
        if (session.get("currency") or "").lower() != order.currency.lower():
            raise PaymentMismatch(
                f"Order {order.number} is in {order.currency}, the payment in "
                f"{session.get('currency')}."
            )
        order = order_mark_paid(order=order, payment_reference=intent, amount=amount, actor=actor)
        logger.info("payment.fulfilled", extra={"order": order.number, "actor": actor})
        return order
    return _late_payment_refund(order=order, session=session, intent=intent, amount=amount)


def _late_payment_refund(*, order: Order, session: dict, intent: str, amount: int) -> Order:
    if order.events.filter(kind=OrderEventKind.LATE_PAYMENT, reference=intent).exists():
        return order
    refund_reference = f"{order.public_id}-late-{intent}"
    refund = payments.refund_create(
        payment_intent=intent, amount=amount, reference=refund_reference
    )
    status = OrderStatus(order.status).label.lower()
    _note(
        order=order,
        kind=OrderEventKind.LATE_PAYMENT,
        actor=STRIPE_ACTOR,
        note=(
            f"Payment {intent} of {money_text(amount, order.currency, symbol=False)} "
            "arrived for an order "
            f"already {status}; refunded in full automatically ({refund.id})."
        ),
        reference=intent,
    )
    logger.warning(
        "payment.late_payment_refunded",
        extra={"order": order.number, "status": order.status, "refund_id": refund.id},
    )
    return order


def order_is_fulfilled(reference: str) -> bool:
    """For stripe_reconcile: has the order with this reference had its payment
    handled (paid, or a late payment refunded)?"""
    from rdk.rls import rls_service_scope

    with rls_service_scope():
        order = _order_for_reference(reference)
        if order is None:
            return False
        if order.status in PAID_STATES:
            return True
        return order.events.filter(kind=OrderEventKind.LATE_PAYMENT).exists()


def session_fulfil(session: dict) -> bool:
    """stripe_reconcile --apply: fulfil, then say whether the reference is fulfilled."""
    order = payment_fulfil(session=session, actor="system:reconcile")
    return order is not None and order_is_fulfilled(str(order.public_id))


def _fulfil_from_stripe(order: Order) -> Order:
    """The order as Stripe sees it now: fulfil its current session if it is paid.
    For events that arrive before the payment was recorded."""
    if order.status == OrderStatus.PENDING_PAYMENT and order.checkout_session_id:
        session = payments.checkout_session_retrieve(order.checkout_session_id, expand=())
        payment_fulfil(session=session, actor=STRIPE_ACTOR)
        order.refresh_from_db()
    return order


# Webhook handlers (registered in OrdersConfig.ready) ---------------------------------------


def on_checkout_session_completed(event) -> None:
    session = event.data_object
    if session.get("payment_status") == "paid":
        payment_fulfil(session=session, actor=STRIPE_ACTOR)
        return
    # Paid asynchronously (a bank debit): keep the pairs while it settles.
    order = _order_for_reference(_session_reference(session))
    if order is None:
        return
    order = _locked(order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        return
    if order.events.filter(kind=OrderEventKind.PAYMENT_PROCESSING, reference=session["id"]):
        return
    hold = timezone.now() + ASYNC_PAYMENT_HOLD
    order.reserved_until = hold
    order.save(update_fields=["reserved_until", "updated_at"])
    Reservation.objects.filter(order=order, status=ReservationStatus.ACTIVE).update(expires_at=hold)
    _note(
        order=order,
        kind=OrderEventKind.PAYMENT_PROCESSING,
        actor=STRIPE_ACTOR,
        note="Payment submitted; waiting for the bank to confirm it.",
        reference=session["id"],
    )


def on_async_payment_succeeded(event) -> None:
    payment_fulfil(session=event.data_object, actor=STRIPE_ACTOR)


def on_async_payment_failed(event) -> None:
    session = event.data_object
    order = _order_for_reference(_session_reference(session))
    if order is None:
        return
    order = _locked(order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        return
    if order.checkout_session_id and order.checkout_session_id != session.get("id"):
        return  # an older attempt; the current session decides
    reservation_release_for_order(order, "payment failed", actor=STRIPE_ACTOR)


def on_checkout_session_expired(event) -> None:
    session = event.data_object
    order = _order_for_reference(_session_reference(session))
    if order is None:
        return
    order = _locked(order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        return  # paid, or already canceled: an order only moves forward
    if order.checkout_session_id and order.checkout_session_id != session.get("id"):
        return  # a newer attempt is open
    reservation_release_for_order(order, "checkout session expired", actor=STRIPE_ACTOR)


def on_payment_failed(event) -> None:
    intent = event.data_object
    order = _order_for_payment(payment_intent="", metadata=intent.get("metadata"))
    if order is None:
        return
    order = _locked(order)
    if order.events.filter(kind=OrderEventKind.PAYMENT_FAILED, reference=event.stripe_id):
        return
    error = intent.get("last_payment_error") or {}
    message = error.get("message") or "The payment failed."
    _note(
        order=order,
        kind=OrderEventKind.PAYMENT_FAILED,
        actor=STRIPE_ACTOR,
        note=f"Payment attempt failed: {message}",
        reference=event.stripe_id,
    )


def _paid_order_for(stripe_object: dict, *, what: str) -> Order | None:
    """The locked order a charge or dispute belongs to, with its payment recorded
    first (fetched from Stripe when this event overtook the payment's). Raises
    while Stripe still reports it unpaid, so that the event is retried."""
    intent = _intent_id(stripe_object.get("payment_intent"))
    order = _order_for_payment(payment_intent=intent, metadata=stripe_object.get("metadata"))
    if order is None:
        logger.warning(f"payment.{what}_unknown_order", extra={what: stripe_object.get("id")})  # noqa: G004
        return None
    order = _fulfil_from_stripe(_locked(order))
    if order.status == OrderStatus.PENDING_PAYMENT:
        raise PaymentNotRecorded(
            f"Order {order.number}: a {what} arrived before its payment; retried later."
        )
    return order


def on_charge_refunded(event) -> None:
    charge = event.data_object
    order = _paid_order_for(charge, what="refund")
    if order is None:
        return
    if order.payment_reference != _intent_id(charge.get("payment_intent")):
        return  # the refund of a late or duplicate payment, recorded when it was made
    order_refunds_sync(order=order, total_refunded=int(charge.get("amount_refunded") or 0))


def on_dispute_created(event) -> None:
    dispute = event.data_object
    order = _paid_order_for(dispute, what="dispute")
    if order is None:
        return
    if order.dispute_reference == dispute.get("id"):
        return
    order.disputed_at = timezone.now()
    order.dispute_reference = str(dispute.get("id") or "")[:255]
    order.save(update_fields=["disputed_at", "dispute_reference", "updated_at"])
    amount = dispute.get("amount")
    _note(
        order=order,
        kind=OrderEventKind.DISPUTE,
        actor=STRIPE_ACTOR,
        note=(
            f"Dispute opened ({dispute.get('reason') or 'no reason given'})"
            + (
                f" for {money_text(amount, order.currency, symbol=False)}"
                if isinstance(amount, int)
                else ""
            )
            + ": answer it in Stripe's Dashboard."
        ),
        reference=order.dispute_reference,
    )
    logger.warning("payment.dispute_opened", extra={"order": order.number})


# Refunds --------------------------------------------------------------------------------------


@transaction.atomic
def order_refunds_sync(*, order: Order, total_refunded: int) -> Order:
    """Stripe reports `total_refunded` on the order's payment (a charge's
    `amount_refunded`, which only grows): record what is not recorded yet. Refunds
    made from RDK were recorded, under the order's lock, before their webhook could
    arrive, so a webhook finds nothing left to record; a refund made in Stripe's
    Dashboard is recorded here. Deliveries in any order converge on the total."""
    order = _locked(order)
    missing = min(total_refunded, order.captured_amount) - order.refunded_amount
    if missing <= 0:
        return order
    return order_record_refund(
        order=order,
        amount=missing,
        refund_reference=f"{order.payment_reference}:refunded:{total_refunded}",
        actor=STRIPE_ACTOR,
    )


@transaction.atomic
def order_refund(*, order: Order, amount: int | None, actor: str) -> Order:
    """Refund a paid order at Stripe, in full (`amount` None) or in part, never
    more than is left of what was captured; recorded on the order with the
    refund's id, so its charge.refunded webhook records nothing twice.

    The order stays locked while Stripe is called: the webhook of this refund
    waits for the record. Raises RefundTooLarge, InvalidTransition or a
    payments error (nothing recorded; retrying is safe, the refund's
    idempotency key is derived from the order and its refund count)."""
    from orders.exceptions import RefundTooLarge

    order = _locked(order)
    if order.status not in PAID_STATES or not order.payment_reference:
        raise InvalidTransition(
            f"Order {order.number} is {OrderStatus(order.status).label.lower()}; "
            "only a paid order can be refunded."
        )
    left = order.refundable_amount
    if amount is None:
        amount = left
    if type(amount) is not int or amount < 1:
        raise RefundTooLarge("A refund must be at least 0.01.")
    if amount > left:
        raise RefundTooLarge(
            f"Order {order.number}: at most "
            f"{money_text(left, order.currency, symbol=False)} is left to refund."
        )
    count = order.events.filter(to_status__in=_REFUNDED, kind=OrderEventKind.STATUS).count()
    refund = payments.refund_create(
        payment_intent=order.payment_reference,
        amount=amount,
        reference=f"{order.public_id}-refund-{count + 1}-{amount}",
    )
    order = order_record_refund(
        order=order, amount=refund.amount, refund_reference=refund.id, actor=actor
    )
    logger.info(
        "order.refunded", extra={"order": order.number, "amount": amount, "refund_id": refund.id}
    )
    return order


_REFUNDED = (OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED)


def register_payment_handlers() -> None:
    """Called from OrdersConfig.ready(): the Stripe events orders acts on."""
    from payments import registry

    handlers = {
        "checkout.session.completed": on_checkout_session_completed,
        "checkout.session.async_payment_succeeded": on_async_payment_succeeded,
        "checkout.session.async_payment_failed": on_async_payment_failed,
        "checkout.session.expired": on_checkout_session_expired,
        "payment_intent.payment_failed": on_payment_failed,
        "charge.refunded": on_charge_refunded,
        "charge.dispute.created": on_dispute_created,
    }
    for event_type, handler in handlers.items():
        registry.register(event_type, handler)
    registry.register_fulfilment_check(order_is_fulfilled)
    registry.register_fulfilment(session_fulfil)
