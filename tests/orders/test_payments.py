"""Orders and Stripe through the local stand-in: the hand-over, every webhook
handler, fulfilment from the webhook and the success page, out-of-order and
duplicate deliveries, refunds, disputes and reconciliation. Events are the
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
from django.utils import timezone

from catalog.models import Variant
from orders.exceptions import RefundTooLarge
from orders.models import (
    Order,
    OrderEventKind,
    OrderStatus,
    Reservation,
    ReservationStatus,
)
from orders.services.checkout import payment_handover
from orders.services.payments import (
    PAYMENT_GRACE,
    STRIPE_MIN_EXPIRY,
    order_refund,
    payment_fulfil,
)
from payments import services as payments
from payments.models import StripeEvent
from payments.services import event_replay
from rdk.rls import rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import UserFactory, order_for
from tests.payments.conftest import control, post_webhook

pytestmark = pytest.mark.django_db

ORIGIN = {"HTTP_ORIGIN": "http://testserver"}


def _order(*, stock: int = 3, quantity: int = 1, price: int = 12000):
    user = UserFactory()
    variant = VariantFactory(stock_on_hand=stock, price_override_amount=price)
    return user, variant, order_for(user, variant, quantity)


def _load(order: Order) -> Order:
    with rls_service_scope():
        return Order.objects.get(pk=order.pk)


def _stock(variant) -> tuple[int, int]:
    v = Variant.objects.get(pk=variant.pk)
    return v.stock_on_hand, v.stock_reserved


def _handover(order: Order) -> str:
    url = payment_handover(order)
    return _load(order).checkout_session_id or url


def _pay(standin, session_id: str, outcome: str = "succeeds") -> None:
    status, body = control(
        standin,
        f"/_standin/sessions/{session_id}/complete",
        {"outcome": outcome, "deliver": "hold"},
    )
    assert status == 200, body


def _events(standin, event_type: str) -> list[dict]:
    return [copy.deepcopy(e) for e in standin.store.events if e["type"] == event_type]


def _deliver(client, event: dict) -> int:
    return post_webhook(client, event).status_code


def _kinds(order: Order) -> list[str]:
    with rls_service_scope():
        return list(Order.objects.get(pk=order.pk).events.values_list("kind", flat=True))


def _paid_events(order: Order) -> int:
    with rls_service_scope():
        return Order.objects.get(pk=order.pk).events.filter(to_status=OrderStatus.PAID).count()


# The hand-over ------------------------------------------------------------------------


def test_the_session_expires_with_the_reservation_within_stripes_minimum(standin):
    _, _, order = _order()
    before = timezone.now()
    url = payment_handover(order)
    order = _load(order)
    session = payments.checkout_session_retrieve(order.checkout_session_id, expand=())
    assert url == session["url"]
    assert session["client_reference_id"] == str(order.public_id)
    assert session["amount_total"] == order.total_amount
    expires_at = dt.datetime.fromtimestamp(session["expires_at"], tz=dt.UTC)
    assert expires_at >= before + STRIPE_MIN_EXPIRY - dt.timedelta(seconds=1)
    assert order.checkout_attempt == 1
    # The pairs stay reserved a grace period past the session's end.
    assert order.reserved_until == order.checkout_expires_at + PAYMENT_GRACE
    with rls_service_scope():
        assert {r.expires_at for r in Reservation.objects.filter(order=order)} == {
            order.reserved_until
        }
    # Asking again (a double click, a retry) gives the same open session.
    assert payment_handover(order) == url


def test_stripe_down_keeps_the_order_and_reservation_and_pay_now_retries(
    client, settings, standin_factory
):
    user = UserFactory()
    client.force_login(user)
    variant = VariantFactory(stock_on_hand=2)
    client.post("/cart/add", {"variant": variant.pk}, **ORIGIN)
    fingerprint = client.get("/cart").context["summary"].fingerprint
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    response = client.post("/checkout", {"fingerprint": fingerprint}, follow=True)
    assert response.redirect_chain[-1][0] == "/cart"
    assert "We could not open the payment page" in response.text
    assert "Pay now" in response.text
    with rls_service_scope():
        order = Order.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert _stock(variant) == (2, 1)

    standin = standin_factory()  # Stripe is back
    response = client.post(f"/account/orders/{order.public_id}/pay")
    assert response.status_code == 302
    assert response["Location"].startswith(standin.url + "/c/pay/")
    assert _load(order).checkout_attempt == 1


def test_cancel_on_stripes_page_releases_the_pairs_and_refills_the_cart(client, standin):
    user, variant, order = _order(stock=2, quantity=2)
    client.force_login(user)
    session_id = _handover(order)
    response = client.get(f"/checkout/cancel/{order.public_id}", follow=True)
    assert response.redirect_chain[-1][0] == "/cart"
    assert "Payment canceled" in response.text
    assert _load(order).status == OrderStatus.CANCELED
    assert _stock(variant) == (2, 0)
    assert payments.checkout_session_retrieve(session_id, expand=())["status"] == "expired"
    assert [line.quantity for line in response.context["summary"].lines] == [2]
    # Its expired webhook then changes nothing.
    assert _deliver(client, _events(standin, "checkout.session.expired")[0]) == 200
    assert _load(order).status == OrderStatus.CANCELED


def test_a_new_attempt_after_the_session_expired_and_the_old_expiry_is_ignored(client, standin):
    _, variant, order = _order()
    first = _handover(order)
    control(standin, f"/_standin/sessions/{first}/expire", {"deliver": "hold"})
    payment_handover(order)  # "Pay now" before the expiry webhook arrived
    order = _load(order)
    assert order.checkout_attempt == 2
    assert order.checkout_session_id != first
    assert _deliver(client, _events(standin, "checkout.session.expired")[0]) == 200
    assert _load(order).status == OrderStatus.PENDING_PAYMENT
    assert _stock(variant) == (3, 1)


# Fulfilment ---------------------------------------------------------------------------------


def test_completed_and_paid_sells_the_reserved_pairs_exactly_once(client, standin):
    _, variant, order = _order(stock=3, quantity=2)
    session_id = _handover(order)
    _pay(standin, session_id)
    completed = _events(standin, "checkout.session.completed")[0]
    assert _deliver(client, completed) == 200
    assert _deliver(client, completed) == 200  # duplicate delivery
    order = _load(order)
    assert order.status == OrderStatus.PAID
    assert order.captured_amount == order.total_amount
    assert order.payment_reference == completed["data"]["object"]["payment_intent"]
    assert _stock(variant) == (1, 0)
    assert _paid_events(order) == 1
    with rls_service_scope():
        assert set(Reservation.objects.filter(order=order).values_list("status", flat=True)) == {
            ReservationStatus.CONSUMED
        }
    # A replay of the processed event changes nothing.
    stored = StripeEvent.objects.get(stripe_id=completed["id"])
    assert event_replay(event=stored, actor="test").outcome == "already_processed"
    assert _stock(variant) == (1, 0)
    assert _paid_events(order) == 1


def test_the_success_page_fulfils_before_the_webhook_and_the_webhook_adds_nothing(
    client, standin, django_assert_max_num_queries
):
    user, variant, order = _order()
    client.force_login(user)
    session_id = _handover(order)
    _pay(standin, session_id)
    response = client.get(f"/checkout/success?session_id={session_id}")
    assert response.status_code == 200
    assert "your order is paid" in response.text
    assert 'http-equiv="refresh"' not in response.text
    assert _load(order).status == OrderStatus.PAID
    assert _stock(variant) == (2, 0)
    assert _deliver(client, _events(standin, "checkout.session.completed")[0]) == 200
    assert _stock(variant) == (2, 0)
    assert _paid_events(order) == 1
    with django_assert_max_num_queries(12):
        assert client.get(f"/checkout/success?session_id={session_id}").status_code == 200


def test_the_success_page_refuses_bad_or_foreign_sessions(client, standin):
    _, _, order = _order()
    session_id = _handover(order)
    client.force_login(UserFactory())
    assert client.get(f"/checkout/success?session_id={session_id}").status_code == 404
    assert client.get("/checkout/success?session_id=<script>").status_code == 400
    assert client.get("/checkout/success").status_code == 400
    assert client.get("/checkout/success?session_id=cs_test_nosuch").status_code == 404
    assert _load(order).status == OrderStatus.PENDING_PAYMENT


def test_an_async_payment_shows_processing_then_pays(client, standin):
    user, variant, order = _order()
    client.force_login(user)
    session_id = _handover(order)
    _pay(standin, session_id, "async_succeeds")
    response = client.get(f"/checkout/success?session_id={session_id}")
    assert "Payment processing" in response.text
    assert '<meta http-equiv="refresh" content="3">' in response.text
    assert _deliver(client, _events(standin, "checkout.session.completed")[0]) == 200
    order = _load(order)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert OrderEventKind.PAYMENT_PROCESSING in _kinds(order)
    assert order.reserved_until > timezone.now() + dt.timedelta(days=6)  # held while it settles
    control(standin, f"/_standin/sessions/{session_id}/complete", {"deliver": "hold"})
    succeeded = _events(standin, "checkout.session.async_payment_succeeded")[0]
    assert _deliver(client, succeeded) == 200
    assert _load(order).status == OrderStatus.PAID
    assert _stock(variant) == (2, 0)
    assert "your order is paid" in client.get(f"/checkout/success?session_id={session_id}").text


def test_an_async_payment_that_fails_cancels_and_releases(client, standin):
    _, variant, order = _order()
    session_id = _handover(order)
    _pay(standin, session_id, "async_fails")
    control(standin, f"/_standin/sessions/{session_id}/fail", {"deliver": "hold"})
    for event_type in (
        "checkout.session.completed",
        "payment_intent.payment_failed",
        "checkout.session.async_payment_failed",
    ):
        assert _deliver(client, _events(standin, event_type)[0]) == 200
    order = _load(order)
    assert order.status == OrderStatus.CANCELED
    assert _stock(variant) == (3, 0)
    assert OrderEventKind.PAYMENT_FAILED in _kinds(order)


def test_a_declined_card_is_recorded_and_the_order_stays_reserved(client, standin):
    user, variant, order = _order()
    session_id = _handover(order)
    control(standin, f"/_standin/sessions/{session_id}/fail", {"deliver": "hold"})
    assert _deliver(client, _events(standin, "payment_intent.payment_failed")[0]) == 200
    order = _load(order)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert _stock(variant) == (3, 1)
    with rls_service_scope():
        failure = order.events.get(kind=OrderEventKind.PAYMENT_FAILED)
    assert failure.note == "Payment attempt failed: Your card was declined."
    client.force_login(user)
    assert "Your card was declined." in client.get(order.get_absolute_url()).text


def test_an_expired_session_cancels_and_releases(client, standin):
    _, variant, order = _order(stock=1)
    session_id = _handover(order)
    control(standin, f"/_standin/sessions/{session_id}/expire", {"deliver": "hold"})
    expired = _events(standin, "checkout.session.expired")[0]
    assert _deliver(client, expired) == 200
    assert _deliver(client, expired) == 200
    order = _load(order)
    assert order.status == OrderStatus.CANCELED
    assert _stock(variant) == (1, 0)


def test_expired_after_completed_changes_nothing(client, standin):
    _, variant, order = _order()
    session_id = _handover(order)
    _pay(standin, session_id)
    completed = _events(standin, "checkout.session.completed")[0]
    assert _deliver(client, completed) == 200
    late = copy.deepcopy(completed)
    late.update(id=f"evt_{uuid.uuid4().hex[:24]}", type="checkout.session.expired")
    late["data"]["object"]["status"] = "expired"
    assert _deliver(client, late) == 200
    assert _load(order).status == OrderStatus.PAID
    assert _stock(variant) == (2, 0)


def test_a_payment_for_a_canceled_order_is_refunded_automatically(client, standin):
    user, variant, order = _order()
    session_id = _handover(order)
    client.force_login(user)
    client.post(f"/account/orders/{order.public_id}/cancel")  # the session stays open
    _pay(standin, session_id)
    completed = _events(standin, "checkout.session.completed")[0]
    assert _deliver(client, completed) == 200
    order = _load(order)
    assert order.status == OrderStatus.CANCELED
    assert _stock(variant) == (3, 0)  # nothing sold
    assert _kinds(order).count(OrderEventKind.LATE_PAYMENT) == 1
    charge = standin.store.charges[
        standin.store.payment_intents[order_intent(completed)]["latest_charge"]
    ]
    assert charge["amount_refunded"] == charge["amount"]
    # Its charge.refunded webhook, and the success page, add nothing.
    assert _deliver(client, _events(standin, "charge.refunded")[0]) == 200
    response = client.get(f"/checkout/success?session_id={session_id}")
    assert "refunded in full" in response.text
    assert _kinds(_load(order)).count(OrderEventKind.LATE_PAYMENT) == 1


def order_intent(event: dict) -> str:
    return event["data"]["object"]["payment_intent"]


# Refunds --------------------------------------------------------------------------------------


def _refund(order: Order, amount: int | None) -> Order:
    with rls_service_scope():
        return order_refund(order=order, amount=amount, actor="staff:1")


def _paid(client, standin, **kwargs):
    user, variant, order = _order(**kwargs)
    session_id = _handover(order)
    _pay(standin, session_id)
    assert _deliver(client, _events(standin, "checkout.session.completed")[0]) == 200
    return user, variant, _load(order)


def test_partial_then_full_refunds_never_exceed_the_capture_nor_double_count(client, standin):
    _, _, order = _paid(client, standin, price=10000)
    order = _refund(order, 2500)
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 2500)
    assert _deliver(client, _events(standin, "charge.refunded")[0]) == 200
    assert _load(order).refunded_amount == 2500
    with pytest.raises(RefundTooLarge):
        _refund(order, 7501)
    order = _refund(order, None)
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, 10000)
    for event in reversed(_events(standin, "charge.refunded")):  # any order, twice
        assert _deliver(client, event) == 200
    order = _load(order)
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, 10000)
    charge = standin.store.charges[
        standin.store.payment_intents[order.payment_reference]["latest_charge"]
    ]
    assert charge["amount_refunded"] == 10000
    with pytest.raises(Exception, match=r"at most|only a paid order"):
        _refund(order, 1)


def test_a_refund_made_in_stripes_dashboard_is_recorded_from_its_webhook(client, standin):
    _, _, order = _paid(client, standin, price=10000)
    payments.refund_create(payment_intent=order.payment_reference, amount=4000, reference="dash-1")
    assert _deliver(client, _events(standin, "charge.refunded")[0]) == 200
    order = _load(order)
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 4000)


def test_a_refund_before_the_payment_fulfils_from_stripe_first(client, standin):
    _, variant, order = _order(price=10000)
    session_id = _handover(order)
    _pay(standin, session_id)
    intent = order_intent(_events(standin, "checkout.session.completed")[0])
    payments.refund_create(payment_intent=intent, amount=3000, reference="early")
    assert _deliver(client, _events(standin, "charge.refunded")[0]) == 200
    order = _load(order)
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 3000)
    assert _deliver(client, _events(standin, "checkout.session.completed")[0]) == 200
    order = _load(order)
    assert (order.status, order.captured_amount) == (OrderStatus.PARTIALLY_REFUNDED, 10000)
    assert _stock(variant) == (2, 0)
    assert _paid_events(order) == 1


def test_a_refund_for_an_unrecorded_payment_fails_then_a_replay_completes_it(client, standin):
    """The hand-over crashed after Stripe answered: RDK never learnt the session id.
    The refund cannot be placed yet, fails (500, retried), and completes once the
    payment is recorded."""
    _, _, order = _order(price=10000)
    session_id = _handover(order)
    with rls_service_scope():
        Order.objects.filter(pk=order.pk).update(checkout_session_id="")
    _pay(standin, session_id)
    intent = order_intent(_events(standin, "checkout.session.completed")[0])
    payments.refund_create(payment_intent=intent, amount=10000, reference="early-full")
    refunded = _events(standin, "charge.refunded")[0]
    assert _deliver(client, refunded) == 500
    stored = StripeEvent.objects.get(stripe_id=refunded["id"])
    assert stored.status == "failed"
    assert "before its payment" in stored.last_error
    assert _deliver(client, _events(standin, "checkout.session.completed")[0]) == 200
    assert event_replay(event=stored, actor="ops:test").outcome == "processed"
    order = _load(order)
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, 10000)


def test_order_refund_command(client, standin):
    _, _, order = _paid(client, standin, price=10000)
    out = StringIO()
    call_command("order_refund", order.number, "--amount", "1000", stdout=out)
    assert "refunded 1000 of 10000" in out.getvalue()
    with pytest.raises(CommandError, match="at most"):
        call_command("order_refund", order.number, "--amount", "9001")
    with pytest.raises(CommandError, match="No order"):
        call_command("order_refund", "RDK-NOPE00")
    with pytest.raises(CommandError, match="positive"):
        call_command("order_refund", order.number, "--amount", "0")
    call_command("order_refund", order.number, stdout=StringIO())
    assert _load(order).status == OrderStatus.REFUNDED


# Disputes --------------------------------------------------------------------------------------


def _dispute_event(order_intent_id: str, charge_id: str, amount: int) -> dict:
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(timezone.now().timestamp()),
        "livemode": False,
        "type": "charge.dispute.created",
        "data": {
            "object": {
                "id": f"dp_{uuid.uuid4().hex[:24]}",
                "object": "dispute",
                "amount": amount,
                "charge": charge_id,
                "currency": "usd",
                "payment_intent": order_intent_id,
                "reason": "fraudulent",
                "status": "needs_response",
                "metadata": {},
            }
        },
    }


def test_a_dispute_flags_the_order_for_staff_once(client, standin):
    _, _, order = _paid(client, standin)
    charge_id = standin.store.payment_intents[order.payment_reference]["latest_charge"]
    event = _dispute_event(order.payment_reference, charge_id, order.total_amount)
    assert _deliver(client, event) == 200
    assert _deliver(client, event) == 200
    order = _load(order)
    assert order.disputed_at is not None
    assert order.dispute_reference == event["data"]["object"]["id"]
    assert _kinds(order).count(OrderEventKind.DISPUTE) == 1
    assert order.status == OrderStatus.PAID


def test_a_dispute_before_the_payment_is_recorded_fulfils_first(client, standin):
    _, variant, order = _order()
    session_id = _handover(order)
    _pay(standin, session_id)
    intent = order_intent(_events(standin, "checkout.session.completed")[0])
    charge_id = standin.store.payment_intents[intent]["latest_charge"]
    assert _deliver(client, _dispute_event(intent, charge_id, 12000)) == 200
    order = _load(order)
    assert order.status == OrderStatus.PAID
    assert order.disputed_at is not None
    assert _stock(variant) == (2, 0)


# Reconciliation -----------------------------------------------------------------------------


def test_reconcile_lists_paid_unfulfilled_sessions_and_apply_fulfils_them(standin):
    _, variant, order = _order()
    session_id = _handover(order)
    _pay(standin, session_id)  # its webhook never arrives
    out = StringIO()
    with pytest.raises(CommandError, match="1 paid session"):
        call_command("stripe_reconcile", "--since", "1h", stdout=out)
    assert session_id in out.getvalue()
    assert str(order.public_id) in out.getvalue()
    out = StringIO()
    call_command("stripe_reconcile", "--since", "1h", "--apply", stdout=out)
    assert "1 session(s) fulfilled, 0 not." in out.getvalue()
    assert _load(order).status == OrderStatus.PAID
    assert _stock(variant) == (2, 0)
    out = StringIO()
    call_command("stripe_reconcile", "--since", "1h", "--apply", stdout=out)
    assert "0 not fulfilled" in out.getvalue()
    assert "Nothing to apply." in out.getvalue()


# Concurrency --------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_and_the_success_page_have_one_effect(standin):
    _, variant, order = _order(stock=2, quantity=1)
    session_id = _handover(order)
    _pay(standin, session_id)
    completed = _events(standin, "checkout.session.completed")[0]
    session = payments.checkout_session_retrieve(session_id, expand=())
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
                statuses.append(payment_fulfil(session=session, actor="test").status)
        finally:
            connection.close()

    threads = [threading.Thread(target=webhook) for _ in range(workers // 2)]
    threads += [threading.Thread(target=success_page) for _ in range(workers // 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, statuses)) == sorted(["200"] * 4 + ["paid"] * 4)
    assert _stock(variant) == (1, 0)
    assert _paid_events(order) == 1
    assert StripeEvent.objects.get(stripe_id=completed["id"]).attempts == 1


# The admin ------------------------------------------------------------------------------------


def test_staff_refund_part_of_an_order_from_the_admin_and_see_disputes(admin_client, standin):
    client = admin_client  # password + TOTP verified (tests/staff.py)
    _, _, order = _paid(client, standin, price=10000)
    staff = admin_client.staff.user
    change = client.get(f"/admin/orders/order/{order.pk}/change/")
    assert "Refund…" in change.text
    url = f"/admin/orders/order/{order.pk}/refund/"
    page = client.get(url)
    assert page.status_code == 200
    assert "left to refund" in page.text
    too_much = client.post(url, {"amount": "100.01", "confirm": "on"})
    assert too_much.status_code == 200
    assert "At most 100.00 USD is left to refund." in too_much.text
    assert client.post(url, {"amount": "abc", "confirm": "on"}).status_code == 200
    response = client.post(url, {"amount": "25.50", "confirm": "on"}, follow=True)
    assert "Refunded 25.50 USD" in response.text
    order = _load(order)
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 2550)
    with rls_service_scope():
        assert order.events.get(to_status=OrderStatus.PARTIALLY_REFUNDED).actor == (
            f"staff:{staff.pk}"
        )
    assert _deliver(client, _events(standin, "charge.refunded")[0]) == 200
    assert _load(order).refunded_amount == 2550

    charge_id = standin.store.payment_intents[order.payment_reference]["latest_charge"]
    _deliver(client, _dispute_event(order.payment_reference, charge_id, 7450))
    listing = client.get("/admin/orders/order/?disputed_at__isempty=0")
    assert order.number in listing.text
    response = client.post(
        "/admin/orders/order/",
        {"action": "refund_in_full", "_selected_action": [order.pk]},
        follow=True,
    )
    assert "1 order(s) refunded." in response.text
    assert _load(order).status == OrderStatus.REFUNDED
    assert client.get(url, follow=True).redirect_chain  # nothing left: back to the order


def test_the_success_page_of_an_unpaid_session_does_not_pretend(client, standin):
    user, _, order = _order()
    client.force_login(user)
    session_id = _handover(order)
    response = client.get(f"/checkout/success?session_id={session_id}")
    assert "Not paid yet" in response.text
    assert 'http-equiv="refresh"' not in response.text
    client.post(f"/account/orders/{order.public_id}/cancel")
    response = client.get(f"/checkout/success?session_id={session_id}")
    assert "This order was canceled" in response.text
    assert "No payment was taken" in response.text
