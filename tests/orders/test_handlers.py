"""orders.handlers through the local stand-in: every Stripe event orders acts on,
marking orders paid from the webhook, out-of-order and duplicate deliveries,
malformed payloads, disputes, reconciliation and concurrency. Events are the
stand-in's own (Stripe-shaped), posted to the real webhook endpoint, signed."""

from __future__ import annotations

import copy
import datetime as dt
import threading
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import (
    Order,
    OrderEventKind,
    OrderStatus,
    Reservation,
    ReservationStatus,
)
from orders.services.payments import order_mark_paid_from_checkout
from payments import services as payments
from payments.events import REFERENCE_KEY
from payments.models import StripeEvent
from payments.services import event_replay
from rdk.rls import rls_service_scope
from tests.orders.payment_helpers import (
    deliver,
    dispute_event,
    event_kinds,
    handover,
    load,
    order_intent,
    paid_event_count,
    paid_order,
    pay_at_standin,
    placed_order,
    standin_events,
    stock_of,
)
from tests.payments.conftest import control, post_webhook

pytestmark = pytest.mark.django_db


# Paid from checkout ------------------------------------------------------------------------


def test_completed_and_paid_sells_the_reserved_pairs_exactly_once(client, standin):
    _, variant, order = placed_order(stock=3, quantity=2)
    session_id = handover(order)
    pay_at_standin(standin, session_id)
    completed = standin_events(standin, "checkout.session.completed")[0]
    assert deliver(client, completed) == 200
    assert deliver(client, completed) == 200  # duplicate delivery
    order = load(order)
    assert order.status == OrderStatus.PAID
    assert order.captured_amount == order.total_amount
    assert order.payment_reference == completed["data"]["object"]["payment_intent"]
    assert stock_of(variant) == (1, 0)
    assert paid_event_count(order) == 1
    with rls_service_scope():
        assert set(Reservation.objects.filter(order=order).values_list("status", flat=True)) == {
            ReservationStatus.CONSUMED
        }
    # A replay of the processed event changes nothing.
    stored = StripeEvent.objects.get(stripe_id=completed["id"])
    assert event_replay(event=stored, actor="test").outcome == "already_processed"
    assert stock_of(variant) == (1, 0)
    assert paid_event_count(order) == 1


def test_a_malformed_completed_event_fails_clearly_and_changes_nothing(client, standin):
    _, variant, order = placed_order(stock=3, quantity=2)
    session_id = handover(order)
    pay_at_standin(standin, session_id)
    completed = standin_events(standin, "checkout.session.completed")[0]
    completed["data"]["object"]["amount_total"] = "120.00"  # not minor units
    assert deliver(client, completed) == 200  # stored and failed: no retry can fix it
    stored = StripeEvent.objects.get(stripe_id=completed["id"])
    assert stored.status == StripeEvent.Status.FAILED
    assert stored.last_error == (
        "StripePayloadInvalid: The Checkout Session's amount_total is not a whole number."
    )
    assert load(order).status == OrderStatus.PENDING_PAYMENT
    assert stock_of(variant) == (3, 2)


def test_an_async_payment_shows_processing_then_pays(client, standin):
    user, variant, order = placed_order()
    client.force_login(user)
    session_id = handover(order)
    pay_at_standin(standin, session_id, "async_succeeds")
    response = client.get(f"/checkout/success?session_id={session_id}")
    assert "Payment processing" in response.text
    assert '<meta http-equiv="refresh" content="3">' in response.text
    assert deliver(client, standin_events(standin, "checkout.session.completed")[0]) == 200
    order = load(order)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert OrderEventKind.PAYMENT_PROCESSING in event_kinds(order)
    assert order.reserved_until > timezone.now() + dt.timedelta(days=6)  # held while it settles
    control(standin, f"/_standin/sessions/{session_id}/complete", {"deliver": "hold"})
    succeeded = standin_events(standin, "checkout.session.async_payment_succeeded")[0]
    assert deliver(client, succeeded) == 200
    assert load(order).status == OrderStatus.PAID
    assert stock_of(variant) == (2, 0)
    assert "your order is paid" in client.get(f"/checkout/success?session_id={session_id}").text


def test_an_async_payment_that_fails_cancels_and_releases(client, standin):
    _, variant, order = placed_order()
    session_id = handover(order)
    pay_at_standin(standin, session_id, "async_fails")
    control(standin, f"/_standin/sessions/{session_id}/fail", {"deliver": "hold"})
    for event_type in (
        "checkout.session.completed",
        "payment_intent.payment_failed",
        "checkout.session.async_payment_failed",
    ):
        assert deliver(client, standin_events(standin, event_type)[0]) == 200
    order = load(order)
    assert order.status == OrderStatus.CANCELED
    assert stock_of(variant) == (3, 0)
    assert OrderEventKind.PAYMENT_FAILED in event_kinds(order)


def test_a_declined_card_is_recorded_and_the_order_stays_reserved(client, standin):
    user, variant, order = placed_order()
    session_id = handover(order)
    control(standin, f"/_standin/sessions/{session_id}/fail", {"deliver": "hold"})
    assert deliver(client, standin_events(standin, "payment_intent.payment_failed")[0]) == 200
    order = load(order)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert stock_of(variant) == (3, 1)
    with rls_service_scope():
        failure = order.events.get(kind=OrderEventKind.PAYMENT_FAILED)
    assert failure.note == "Payment attempt failed: Your card was declined."
    client.force_login(user)
    assert "Your card was declined." in client.get(order.get_absolute_url()).text


def test_an_expired_session_cancels_and_releases(client, standin):
    _, variant, order = placed_order(stock=1)
    session_id = handover(order)
    control(standin, f"/_standin/sessions/{session_id}/expire", {"deliver": "hold"})
    expired = standin_events(standin, "checkout.session.expired")[0]
    assert deliver(client, expired) == 200
    assert deliver(client, expired) == 200
    order = load(order)
    assert order.status == OrderStatus.CANCELED
    assert stock_of(variant) == (1, 0)


def test_expired_after_completed_changes_nothing(client, standin):
    _, variant, order = placed_order()
    session_id = handover(order)
    pay_at_standin(standin, session_id)
    completed = standin_events(standin, "checkout.session.completed")[0]
    assert deliver(client, completed) == 200
    late = copy.deepcopy(completed)
    late.update(id=f"evt_{uuid.uuid4().hex[:24]}", type="checkout.session.expired")
    late["data"]["object"]["status"] = "expired"
    assert deliver(client, late) == 200
    assert load(order).status == OrderStatus.PAID
    assert stock_of(variant) == (2, 0)


def test_a_payment_for_a_canceled_order_is_refunded_automatically(client, standin):
    user, variant, order = placed_order()
    session_id = handover(order)
    client.force_login(user)
    client.post(f"/account/orders/{order.public_id}/cancel")  # the session stays open
    pay_at_standin(standin, session_id)
    completed = standin_events(standin, "checkout.session.completed")[0]
    assert deliver(client, completed) == 200
    order = load(order)
    assert order.status == OrderStatus.CANCELED
    assert stock_of(variant) == (3, 0)  # nothing sold
    assert event_kinds(order).count(OrderEventKind.LATE_PAYMENT) == 1
    charge = standin.store.charges[
        standin.store.payment_intents[order_intent(completed)]["latest_charge"]
    ]
    assert charge["amount_refunded"] == charge["amount"]
    # Its charge.refunded webhook, and the success page, add nothing.
    assert deliver(client, standin_events(standin, "charge.refunded")[0]) == 200
    response = client.get(f"/checkout/success?session_id={session_id}")
    assert "refunded in full" in response.text
    assert event_kinds(load(order)).count(OrderEventKind.LATE_PAYMENT) == 1


# Disputes --------------------------------------------------------------------------------------


def test_a_dispute_flags_the_order_for_staff_once(client, standin):
    _, _, order = paid_order(client, standin)
    charge_id = standin.store.payment_intents[order.payment_reference]["latest_charge"]
    event = dispute_event(order.payment_reference, charge_id, order.total_amount)
    assert deliver(client, event) == 200
    assert deliver(client, event) == 200
    order = load(order)
    assert order.disputed_at is not None
    assert order.dispute_reference == event["data"]["object"]["id"]
    assert event_kinds(order).count(OrderEventKind.DISPUTE) == 1
    assert order.status == OrderStatus.PAID


def test_a_dispute_before_the_payment_is_recorded_marks_it_paid_first(client, standin):
    _, variant, order = placed_order()
    session_id = handover(order)
    pay_at_standin(standin, session_id)
    intent = order_intent(standin_events(standin, "checkout.session.completed")[0])
    charge_id = standin.store.payment_intents[intent]["latest_charge"]
    assert deliver(client, dispute_event(intent, charge_id, 12000)) == 200
    order = load(order)
    assert order.status == OrderStatus.PAID
    assert order.disputed_at is not None
    assert stock_of(variant) == (2, 0)


# Reconciliation -----------------------------------------------------------------------------


def test_reconcile_lists_paid_unrecorded_sessions_and_apply_records_them(standin):
    _, variant, order = placed_order()
    session_id = handover(order)
    pay_at_standin(standin, session_id)  # its webhook never arrives
    out = StringIO()
    with pytest.raises(CommandError, match="1 paid session"):
        call_command("stripe_reconcile", "--since", "1h", stdout=out)
    assert session_id in out.getvalue()
    assert str(order.public_id) in out.getvalue()
    out = StringIO()
    call_command("stripe_reconcile", "--since", "1h", "--apply", stdout=out)
    assert "1 session(s) recorded, 0 not." in out.getvalue()
    assert load(order).status == OrderStatus.PAID
    assert stock_of(variant) == (2, 0)
    out = StringIO()
    call_command("stripe_reconcile", "--since", "1h", "--apply", stdout=out)
    assert "0 not recorded" in out.getvalue()
    assert "Nothing to apply." in out.getvalue()


# Concurrency --------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.pooler
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_and_the_success_page_have_one_effect(standin):
    _, variant, order = placed_order(stock=2, quantity=1)
    session_id = handover(order)
    pay_at_standin(standin, session_id)
    completed = standin_events(standin, "checkout.session.completed")[0]
    session = payments.checkout_session_retrieve(session_id)
    workers = 8
    barrier = threading.Barrier(workers)
    statuses: list[object] = []

    def webhook() -> None:
        try:
            barrier.wait()
            statuses.append(post_webhook(Client(), completed).status_code)
        finally:
            connection.close()

    def success_page() -> None:
        try:
            barrier.wait()
            with rls_service_scope():
                statuses.append(order_mark_paid_from_checkout(session=session, actor="test").status)
        finally:
            connection.close()

    threads = [threading.Thread(target=webhook) for _ in range(workers // 2)]
    threads += [threading.Thread(target=success_page) for _ in range(workers // 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, statuses)) == sorted(["200"] * 4 + ["paid"] * 4)
    assert stock_of(variant) == (1, 0)
    assert paid_event_count(order) == 1
    assert StripeEvent.objects.get(stripe_id=completed["id"]).attempts == 1


# Trusting what Stripe says ----------------------------------------------------------------------


@pytest.mark.parametrize("livemode", [True, None])
def test_a_session_of_the_other_stripe_mode_is_not_marked_paid(client, standin, livemode):
    """The configured key is a test key: a live-mode (or mode-less) session is refused."""
    _, variant, order = placed_order()
    pay_at_standin(standin, handover(order))
    completed = standin_events(standin, "checkout.session.completed")[0]
    if livemode is None:
        del completed["data"]["object"]["livemode"]
    else:
        completed["data"]["object"]["livemode"] = livemode
    assert deliver(client, completed) == 500
    assert "mode" in StripeEvent.objects.get(stripe_id=completed["id"]).last_error
    assert load(order).status == OrderStatus.PENDING_PAYMENT
    assert stock_of(variant) == (3, 1)


def test_a_paid_session_that_is_not_the_order_s_checkout_session_is_refused(client, standin):
    _, variant, order = placed_order()
    pay_at_standin(standin, handover(order))
    with rls_service_scope():
        Order.objects.filter(pk=order.pk).update(checkout_session_id="cs_test_another_attempt")
    completed = standin_events(standin, "checkout.session.completed")[0]
    assert deliver(client, completed) == 500
    stored = StripeEvent.objects.get(stripe_id=completed["id"])
    assert "is not order" in stored.last_error
    assert load(order).status == OrderStatus.PENDING_PAYMENT
    assert stock_of(variant) == (3, 1)


def test_a_dispute_is_matched_by_its_payment_intent_not_its_metadata(client, standin):
    _, _, disputed = paid_order(client, standin)
    _, _, innocent = paid_order(client, standin)
    charge_id = standin.store.payment_intents[disputed.payment_reference]["latest_charge"]
    event = dispute_event(disputed.payment_reference, charge_id, disputed.total_amount)
    event["data"]["object"]["metadata"] = {REFERENCE_KEY: str(innocent.public_id)}
    assert deliver(client, event) == 200
    assert load(disputed).disputed_at is not None
    assert load(innocent).disputed_at is None
    assert OrderEventKind.DISPUTE not in event_kinds(innocent)


# What a payment costs ----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_paid_checkout_event_is_one_transaction_of_few_round_trips(standin, redis_round_trips):
    """Storing, locking and handling share one transaction and nothing is read
    twice: the event inserted already marked processed (no savepoint around
    the handler, no update after it), the order found and locked in one
    query, its reservations sold with one UPDATE … RETURNING and its stock
    with one UPDATE per size, the order's payment and status written
    together, the email inserted once without a savepoint and without its
    bodies, which its task renders with the order's lines. 11 statements (12
    locking the reservations with a SELECT first, 13 reading the lines for
    the email, 16 with the savepoint, 31 and three transactions before); a
    duplicate 6
    (and one transaction, two before). A
    sale changes no cached catalog page, so Redis sees the rate limit (one
    round trip, as for a duplicate; 3 before, 8 before that: 5 went on tag
    bumps) and one more: the shopper's order pages are dropped once it commits
    (orders/pages.py)."""
    client = Client()
    events = []
    for _ in range(2):
        _, _, order = placed_order(stock=3, quantity=2)
        pay_at_standin(standin, handover(order))
        events.append(standin_events(standin, "checkout.session.completed")[-1])
    warm, event = events
    assert deliver(client, warm) == 200  # connections, templates and switches warm
    redis = redis_round_trips
    with CaptureQueriesContext(connection) as first:
        first_redis = redis(lambda: deliver(client, event))
    with CaptureQueriesContext(connection) as again:
        again_redis = redis(lambda: deliver(client, event))
    new = [q["sql"].split()[0].upper() for q in first.captured_queries]
    duplicate = [q["sql"].split()[0].upper() for q in again.captured_queries]
    for kinds in (new, duplicate):
        assert (kinds[0], kinds[-1], kinds.count("COMMIT")) == ("BEGIN", "COMMIT", 1), kinds
    assert len(new) <= 11, new
    assert not [q for q in first.captured_queries if "orders_orderline" in q["sql"]]
    assert new.count("SAVEPOINT") == 0  # a failure rolls the whole delivery back
    assert len(duplicate) <= 6, duplicate
    assert first_redis == again_redis + 1, (first_redis, again_redis)
    assert first_redis <= 2, first_redis
    assert load(order).status == OrderStatus.PAID
    assert paid_event_count(order) == 1
