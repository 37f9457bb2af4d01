"""Every request the webhook refuses: 400, a log line with the reason and the
request id (never the secret), and nothing stored."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from payments.models import StripeEvent
from payments.signatures import MAX_BODY_BYTES, signature_header
from tests.payments.conftest import OLD_SECRET, SECRET, make_event, post_webhook

pytestmark = pytest.mark.django_db


def _rejection(json_logs) -> dict:
    lines = [line for line in json_logs() if line["event"] == "stripe.webhook_rejected"]
    assert len(lines) == 1
    return lines[0]


def assert_rejected(response, reason: str, json_logs) -> None:
    assert response.status_code == 400
    assert response.json() == {"error": "webhook_rejected", "reason": reason}
    assert StripeEvent.objects.count() == 0
    line = _rejection(json_logs)
    assert line["reason"] == reason
    assert line["request_id"] == response["X-Request-ID"]
    logged = json.dumps(json_logs())
    assert SECRET not in logged
    assert OLD_SECRET not in logged


def test_a_valid_signature_is_accepted_and_stored(client):
    event = make_event("customer.created")
    response = post_webhook(client, event)
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.stripe_id == event["id"]
    assert stored.payload == event


def test_a_signature_made_with_another_secret_is_rejected(client, json_logs):
    response = post_webhook(client, make_event(), secret="whsec_someone_else")
    assert_rejected(response, "bad_signature", json_logs)


def test_both_secrets_of_a_rotation_are_accepted(client, settings):
    settings.STRIPE_WEBHOOK_SECRETS = [OLD_SECRET, SECRET]
    assert post_webhook(client, make_event(), secret=OLD_SECRET).status_code == 200
    assert post_webhook(client, make_event(), secret=SECRET).status_code == 200
    assert StripeEvent.objects.count() == 2


def test_the_old_secret_is_refused_once_the_rotation_ends(client, json_logs):
    response = post_webhook(client, make_event(), secret=OLD_SECRET)
    assert_rejected(response, "bad_signature", json_logs)


def test_a_tampered_body_is_rejected(client, json_logs):
    event = make_event(amount_total=1000)
    header = signature_header(json.dumps(event), SECRET)
    event["data"]["object"]["amount_total"] = 1
    response = post_webhook(client, event, header=header)
    assert_rejected(response, "bad_signature", json_logs)


def test_a_stale_timestamp_is_rejected(client, json_logs):
    response = post_webhook(client, make_event(), timestamp=int(time.time()) - 301)
    assert_rejected(response, "stale_timestamp", json_logs)


def test_a_future_timestamp_is_rejected(client, json_logs):
    response = post_webhook(client, make_event(), timestamp=int(time.time()) + 301)
    assert_rejected(response, "future_timestamp", json_logs)


def test_a_missing_signature_header_is_rejected(client, json_logs):
    response = post_webhook(client, make_event(), secret=None)
    assert_rejected(response, "missing_signature", json_logs)


@pytest.mark.parametrize("header", ["garbage", "t=abc,v1=00", "v1=00", "t=1,t=2,v1=00"])
def test_a_malformed_signature_header_is_rejected(client, json_logs, header):
    response = post_webhook(client, make_event(), header=header)
    assert_rejected(response, "malformed_signature_header", json_logs)


def test_a_header_without_a_v1_signature_is_rejected(client, json_logs):
    response = post_webhook(client, make_event(), header=f"t={int(time.time())},v0=abc")
    assert_rejected(response, "no_v1_signature", json_logs)


def test_a_signed_body_that_is_not_json_is_rejected(client, json_logs):
    response = post_webhook(client, "this is not json")
    assert_rejected(response, "not_json", json_logs)


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        {"id": "evt_1", "object": "charge", "type": "x", "data": {"object": {}}},
        {"id": "evt_1", "object": "event", "data": {"object": {}}},
        {"id": "evt_1", "object": "event", "type": "x", "data": {"object": "nope"}},
        {"id": "", "object": "event", "type": "x", "data": {"object": {}}},
    ],
)
def test_a_signed_json_body_that_is_not_an_event_is_rejected(client, json_logs, body):
    response = post_webhook(client, body)
    assert_rejected(response, "not_an_event", json_logs)


def test_an_oversize_body_is_rejected_before_it_is_read(client, json_logs):
    event = make_event(padding="x" * (MAX_BODY_BYTES + 1))
    response = post_webhook(client, event)
    assert_rejected(response, "body_too_large", json_logs)


def test_a_body_that_is_not_utf8_is_rejected(client, json_logs):
    response = post_webhook(client, b"\xff\xfe\x00event", header=f"t={int(time.time())},v1=00")
    assert_rejected(response, "not_utf8", json_logs)


def test_only_post_is_allowed(client):
    assert client.get(reverse("payments:webhook")).status_code == 405


def test_the_webhook_needs_no_csrf_token_and_no_login():
    csrf_client = Client(enforce_csrf_checks=True)
    assert post_webhook(csrf_client, make_event()).status_code == 200
