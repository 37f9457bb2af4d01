"""The inbox: stored before processing, exactly one effect per event however often
and however concurrently it is delivered, failures rolled back and retried."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from payments import registry
from payments.models import StripeEvent
from tests.payments.conftest import EFFECT_TYPE, make_event, post_webhook


@pytest.mark.django_db
def test_a_handled_event_is_processed_once_with_its_effect(client, effect):
    event = make_event()
    response = post_webhook(client, event, HTTP_X_REQUEST_ID="req-first")
    assert response.status_code == 200
    assert response.json() == {"received": True, "status": "processed", "duplicate": False}
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.status == StripeEvent.Status.PROCESSED
    assert stored.type == EFFECT_TYPE
    assert stored.attempts == 1
    assert stored.delivery_count == 1
    assert stored.processed_at is not None
    assert stored.request_ids == ["req-first"]
    assert stored.api_version == event["api_version"]
    assert stored.livemode is False
    assert effect.calls == [event["id"]]
    assert effect.count(event["id"]) == 1


@pytest.mark.django_db
def test_a_duplicate_delivery_answers_200_and_has_no_second_effect(client, effect):
    event = make_event()
    assert post_webhook(client, event).status_code == 200
    response = post_webhook(client, event)
    assert response.status_code == 200
    assert response.json()["duplicate"] is True
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert (stored.delivery_count, stored.attempts, len(stored.request_ids)) == (2, 1, 2)
    assert effect.count(event["id"]) == 1


@pytest.mark.django_db
def test_an_event_type_without_a_handler_is_stored_as_ignored(client):
    event = make_event("customer.subscription.created")
    response = post_webhook(client, event)
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.status == StripeEvent.Status.IGNORED
    assert stored.attempts == 0


@pytest.mark.django_db
def test_a_failing_handler_rolls_back_its_effect_and_answers_500(client, effect):
    effect.failing = True
    event = make_event()
    response = post_webhook(client, event)
    assert response.status_code == 500
    assert response.json()["status"] == "failed"
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.status == StripeEvent.Status.FAILED
    assert stored.attempts == 1
    assert "the shop's database said no" in stored.last_error
    assert effect.count(event["id"]) == 0  # the row it wrote was rolled back

    effect.failing = False  # the cause is fixed; Stripe delivers again
    response = post_webhook(client, event)
    assert response.status_code == 200
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.last_error) == ("processed", 2, "")
    assert stored.delivery_count == 2
    assert effect.count(event["id"]) == 1


@pytest.mark.django_db
def test_the_webhook_uses_a_bounded_number_of_queries(
    client, effect, django_assert_max_num_queries
):
    # 11, plus the service row-security scope around the handler (set, restore,
    # and its savepoint) on PostgreSQL.
    with django_assert_max_num_queries(15):
        assert post_webhook(client, make_event()).status_code == 200


@pytest.mark.postgres
@pytest.mark.pooler
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_have_exactly_one_effect(effect):
    event = make_event()
    copies = 8
    barrier = threading.Barrier(copies)
    statuses: list[int] = []

    def deliver() -> None:
        try:
            barrier.wait()
            statuses.append(post_webhook(Client(), event).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * copies
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.delivery_count == copies
    assert stored.attempts == 1
    assert stored.status == StripeEvent.Status.PROCESSED
    assert effect.count(event["id"]) == 1
    assert len(effect.calls) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_first_delivery_failing_while_a_copy_waits_leaves_one_effect(effect):
    """A first delivery's handler fails and its transaction rolls back whole
    (the event's row with it) while a copy of the event waits on the unique
    index: the copy then stores and processes the event, the failed delivery
    records itself on that row (it never marks a processed event failed), and
    the effect happens once."""
    event = make_event("rdk.test.fails_once")
    copy_answers: list[int] = []
    started = threading.Event()

    def copy_delivery() -> None:
        try:
            started.set()
            copy_answers.append(post_webhook(Client(), event).status_code)
        finally:
            connection.close()

    copy = threading.Thread(target=copy_delivery)

    def fail_once_with_a_copy_waiting(stripe_event) -> None:
        if copy.is_alive() or copy_answers:
            return effect(stripe_event)
        copy.start()
        started.wait()
        time.sleep(0.3)  # the copy reaches the unique index and waits on this insert
        raise RuntimeError("the shop's database said no")

    registry.register("rdk.test.fails_once", fail_once_with_a_copy_waiting)
    first = post_webhook(Client(), event).status_code
    copy.join()

    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.delivery_count == 2
    assert stored.status == StripeEvent.Status.PROCESSED
    assert effect.count(event["id"]) == 1
    # Usually the copy, woken by the rollback, stores the event first, and the
    # failed delivery then finds it processed (200); if the failure is stored
    # first, the copy dispatches the failed event again.
    assert (first, copy_answers) in ((200, [200]), (500, [200]))


def _kinds(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"].split()[0].upper() for q in queries.captured_queries]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_the_inbox_spends_one_transaction_and_few_round_trips_per_event(client, effect):
    """One transaction per delivery, so one commit (an autocommitted insert
    and a transaction made two): the service scope set once, the event
    inserted with ON CONFLICT DO NOTHING (never read back) already marked
    processed, the handler's statements, the commit. 5 statements with the
    test handler's one (8 with a savepoint around the handler and the result
    written after it; 9 and two commits before that, 15 before that); a
    duplicate inserts nothing and locks the row without its payload: 6 (6 and
    two transactions before)."""
    event = make_event()
    post_webhook(client, make_event())  # connections and switches warm
    with CaptureQueriesContext(connection) as first:
        assert post_webhook(client, event).status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert post_webhook(client, event).json()["duplicate"] is True
    for delivery in (first, again):
        kinds = _kinds(delivery)
        assert (kinds[0], kinds[-1], kinds.count("COMMIT")) == ("BEGIN", "COMMIT", 1), kinds
    assert _kinds(first) == [
        "BEGIN",
        "SELECT",  # the service scope
        "INSERT",  # the event, processed, ON CONFLICT DO NOTHING RETURNING id
        "INSERT",  # the test handler's effect
        "COMMIT",
    ]
    assert "ON CONFLICT DO NOTHING" in first.captured_queries[2]["sql"]
    assert _kinds(again) == ["BEGIN", "SELECT", "INSERT", "SELECT", "UPDATE", "COMMIT"]
    assert '"payload"' not in again.captured_queries[3]["sql"]  # the lock skips the payload
    assert effect.count(event["id"]) == 1


@pytest.mark.django_db
def test_unsigned_junk_cannot_use_up_the_deliveries_limit(client, settings):
    """Rejected posts are counted apart from verified deliveries (issue 11 §3)."""
    settings.RATE_LIMITS = {"webhook": "3/m", "webhook_rejected": "3/m"}
    for _ in range(3):
        assert post_webhook(client, make_event(), secret="whsec_wrong").status_code == 400
    assert post_webhook(client, make_event(), secret="whsec_wrong").status_code == 429
    for _ in range(3):
        assert post_webhook(client, make_event("rdk.test.unhandled")).status_code == 200
    assert post_webhook(client, make_event("rdk.test.unhandled")).status_code == 429
