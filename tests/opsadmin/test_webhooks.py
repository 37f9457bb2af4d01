"""The webhooks pages of the ops console: list, filters, detail, replay one,
replay every failed one (with confirmation), all audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from opsadmin.models import AuditEntry
from payments.models import StripeEvent, StripeEventReplay
from tests.opsadmin.webhook_helpers import receive

pytestmark = pytest.mark.django_db

LIST = reverse("admin:ops_webhooks")


def detail(event) -> str:
    return reverse("admin:ops_webhook_detail", args=[event.stripe_id])


def test_the_list_shows_counts_by_status_and_the_oldest_unprocessed(ops_client, effect):
    receive()
    effect.failing = True
    failed = receive(age=dt.timedelta(minutes=40))
    receive("invoice.paid")  # no handler: ignored
    page = ops_client.get(LIST).content.decode()
    assert 'id="count-processed"' in page
    assert [
        StripeEvent.objects.filter(status=s).count() for s in ("processed", "failed", "ignored")
    ] == [1, 1, 1]
    assert "1 event not processed; the oldest was received 40" in page
    assert failed.stripe_id in page
    assert "Replay all failed (1)" in page
    assert "the shop&#x27;s database said no" in page


def test_filters_by_status_type_and_date(ops_client, effect):
    processed = receive()
    effect.failing = True
    failed = receive()
    ignored = receive("invoice.paid")
    old = receive("invoice.paid", age=dt.timedelta(days=10))

    def shown(query: dict) -> set[str]:
        response = ops_client.get(LIST, query)
        assert response.status_code == 200
        return {
            e.stripe_id
            for e in (processed, failed, ignored, old)
            if f'id="event-{e.stripe_id}"' in response.content.decode()
        }

    assert shown({}) == {processed.stripe_id, failed.stripe_id, ignored.stripe_id, old.stripe_id}
    assert shown({"status": "failed"}) == {failed.stripe_id}
    assert shown({"type": "invoice.paid"}) == {ignored.stripe_id, old.stripe_id}
    today = timezone.now().date()
    assert shown({"since": str(today - dt.timedelta(days=1))}) == {
        processed.stripe_id,
        failed.stripe_id,
        ignored.stripe_id,
    }
    ten_days_ago = today - dt.timedelta(days=10)
    assert shown({"until": str(ten_days_ago), "type": "invoice.paid"}) == {old.stripe_id}


@pytest.mark.parametrize(
    "query",
    [
        {"status": "exploded"},
        {"type": "no.such.type"},
        {"since": "yesterday"},
        {"since": "2026-02-30"},
        {"since": "2026-03-02", "until": "2026-03-01"},
    ],
)
def test_bad_filters_answer_400_with_a_message(ops_client, query):
    response = ops_client.get(LIST, query)
    assert response.status_code == 400
    assert b'class="errornote"' in response.content


def test_the_list_pages_use_a_bounded_number_of_queries(
    ops_client, effect, django_assert_max_num_queries
):
    effect.failing = True
    for _ in range(30):
        receive()
    receive("invoice.paid")
    with django_assert_max_num_queries(20):
        assert ops_client.get(LIST).status_code == 200
    with django_assert_max_num_queries(20):
        assert (
            ops_client.get(LIST, {"status": "failed", "type": "rdk.test.effect"}).status_code == 200
        )
    with django_assert_max_num_queries(20):
        response = ops_client.get(reverse("admin:ops_webhooks_replay_failed"))
    assert response.status_code == 200
    assert b"Replay 30 failed events" in response.content


def test_the_detail_page_shows_payload_attempts_errors_and_request_ids(ops_client, effect):
    effect.failing = True
    event = receive(client_reference_id="3f0c6f1e-order")
    page = ops_client.get(detail(event)).content.decode()
    assert f"<code>{event.stripe_id}</code>" in page
    assert "This event failed 1 time: RuntimeError: the shop" in page
    assert f"<code>{event.request_ids[0]}</code>" in page
    assert "<code>3f0c6f1e-order</code>" in page
    assert "&quot;type&quot;: &quot;rdk.test.effect&quot;" in page  # pretty-printed JSON
    assert "\n  &quot;data&quot;: {" in page
    assert "Never replayed." in page
    assert "Replay this event" in page


def test_the_detail_page_of_a_malformed_event_shows_its_error(ops_client):
    event = receive("charge.refunded", object="charge", amount_refunded="lots")
    response = ops_client.get(detail(event))
    assert response.status_code == 200
    page = response.content.decode()
    assert "StripePayloadInvalid: The charge&#x27;s amount_refunded is not a whole number" in page
    assert "&quot;amount_refunded&quot;: &quot;lots&quot;" in page


def test_an_unknown_event_is_a_404(ops_client):
    assert ops_client.get(reverse("admin:ops_webhook_detail", args=["evt_nope"])).status_code == 404
    replay = reverse("admin:ops_webhook_replay", args=["evt_nope"])
    assert ops_client.post(replay).status_code == 404


def test_replay_one_fails_again_then_succeeds_after_the_fix(ops_client, effect):
    effect.failing = True
    event = receive()
    url = reverse("admin:ops_webhook_replay", args=[event.stripe_id])
    assert ops_client.get(url).status_code == 405  # a replay is a POST

    response = ops_client.post(url, follow=True, HTTP_X_REQUEST_ID="req-replay-1")
    assert "failed again: RuntimeError" in response.content.decode()
    event.refresh_from_db()
    assert (event.status, event.attempts) == (StripeEvent.Status.FAILED, 2)

    effect.failing = False  # the fix is deployed
    response = ops_client.post(url, follow=True, HTTP_X_REQUEST_ID="req-replay-2")
    page = response.content.decode()
    assert f"Replayed {event.stripe_id}: processed." in page
    event.refresh_from_db()
    assert (event.status, event.attempts) == (StripeEvent.Status.PROCESSED, 3)
    assert effect.count(event.stripe_id) == 1
    replays = list(event.replays.order_by("replayed_at", "id"))
    assert [(r.outcome, r.actor, r.request_id) for r in replays] == [
        ("failed", "ops", "req-replay-1"),
        ("processed", "ops", "req-replay-2"),
    ]
    assert "req-replay-2" in page  # the replay history on the detail page
    entries = AuditEntry.objects.filter(action="stripe.event_replay").order_by("id")
    assert [(e.actor, e.target, e.outcome, e.request_id) for e in entries] == [
        ("ops", event.stripe_id, "failed", "req-replay-1"),
        ("ops", event.stripe_id, "ok", "req-replay-2"),
    ]
    assert "Replay this event" not in page  # processed: nothing left to replay


def test_replay_all_failed_needs_confirmation(ops_client, effect):
    effect.failing = True
    events = [receive() for _ in range(3)]
    receive("invoice.paid")
    url = reverse("admin:ops_webhooks_replay_failed")
    page = ops_client.get(url).content.decode()
    assert "Replay 3 failed events" in page
    for event in events:
        assert event.stripe_id in page

    refused = ops_client.post(url, {})
    assert refused.status_code == 400
    assert b"Nothing was replayed" in refused.content
    assert not StripeEventReplay.objects.exists()

    effect.failing = False
    response = ops_client.post(url, {"confirm": "on"}, follow=True)
    assert "Replayed 3 event(s): all processed." in response.content.decode()
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed", "ignored"}
    assert all(effect.count(event.stripe_id) == 1 for event in events)
    assert AuditEntry.objects.filter(action="stripe.event_replay", actor="ops").count() == 3


def test_replay_all_failed_reports_the_ones_still_failing(ops_client, effect):
    effect.failing = True
    receive()
    response = ops_client.post(
        reverse("admin:ops_webhooks_replay_failed"), {"confirm": "on"}, follow=True
    )
    assert "1 failed again" in response.content.decode()
    assert response.redirect_chain[-1][0].endswith("?status=failed")


def test_with_nothing_failed_the_confirmation_page_says_so(ops_client):
    page = ops_client.get(reverse("admin:ops_webhooks_replay_failed")).content.decode()
    assert "No failed event: nothing to replay." in page


def test_events_link_to_their_order_and_are_found_by_number_email_or_stripe_id(ops_client, effect):
    from tests.catalog.factories import VariantFactory
    from tests.orders.factories import UserFactory, order_for

    shopper = UserFactory()
    order = order_for(shopper, VariantFactory())
    about = receive(
        id="cs_test_about", client_reference_id=str(order.public_id), payment_intent="pi_123"
    )
    other = receive(id="cs_test_other", metadata={"order_id": "not-an-order"})
    by_metadata = receive(id="cs_test_meta", metadata={"order_id": str(order.public_id)})

    for query in (order.number, order.number.lower(), shopper.email.upper()):
        html = ops_client.get(LIST, {"q": query}).content.decode()
        assert about.stripe_id in html, query
        assert by_metadata.stripe_id in html, query
        assert other.stripe_id not in html, query
    for query in (about.stripe_id, "cs_test_about", "pi_123"):
        html = ops_client.get(LIST, {"q": query}).content.decode()
        assert about.stripe_id in html
        assert other.stripe_id not in html

    html = ops_client.get(detail(about)).content.decode()
    order_url = reverse("admin:orders_order_change", args=[order.pk])
    assert f'<a href="{order_url}" id="event-order">{order.number}</a>' in html
    assert f"{LIST}?q={order.number}" in html
    order_page = ops_client.get(order_url).content.decode()
    assert f'href="{LIST}?q={order.number}"' in order_page
