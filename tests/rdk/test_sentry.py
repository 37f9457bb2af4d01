"""The real sentry-sdk with a transport that keeps envelopes instead of sending them."""

from __future__ import annotations

import json

import pytest
import sentry_sdk
from django.http import HttpResponse
from django.test import override_settings
from django.urls import include, path
from sentry_sdk.transport import Transport

from rdk.observability import sentry_init


class Boom(Exception):
    pass


def exploding_view(request):
    raise Boom("card 4242424242424242 declined for password hunter2")


def fine_view(request):
    return HttpResponse("fine")


urlpatterns = [
    path("explode", exploding_view),
    path("fine", fine_view),
    path("", include("rdk.urls")),
]


class KeepingTransport(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


@pytest.fixture
def sentry_events():
    transport = KeepingTransport()
    sentry_init(
        dsn="https://public@sentry.invalid/1",
        environment="staging",
        release="v9.9.9",
        transport=transport,
    )
    events = []

    def collected():
        sentry_sdk.flush()
        for envelope in transport.envelopes:
            for item in envelope.items:
                if item.type == "event":
                    events.append(json.loads(item.payload.get_bytes()))
        transport.envelopes.clear()
        return events

    yield collected
    sentry_sdk.init()  # back to a client with no DSN


def test_not_initialised_without_dsn():
    assert sentry_init(dsn="", environment="local", release="x") is False


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.rdk.test_sentry")
def test_view_exception_becomes_one_tagged_event_without_personal_data(client, sentry_events):
    client.raise_request_exception = False
    client.cookies["sessionid"] = "secret-session-cookie"
    response = client.post(
        "/explode",
        {"password": "hunter2", "card": "4242424242424242"},
        HTTP_X_REQUEST_ID="req-sentry-1",
        HTTP_AUTHORIZATION="Bearer tok-secret",
    )
    assert response.status_code == 500
    events = sentry_events()
    assert len(events) == 1
    event = events[0]
    assert event["tags"]["request_id"] == "req-sentry-1"
    assert event["environment"] == "staging"
    assert event["release"] == "v9.9.9"
    request = event.get("request", {})
    assert "cookies" not in request
    assert "data" not in request
    assert "Authorization" not in request.get("headers", {})
    text = json.dumps(event)
    for secret in ("secret-session-cookie", "tok-secret"):
        assert secret not in text
    assert "user" not in event or "ip_address" not in event["user"]
    frames = event["exception"]["values"][0]["stacktrace"]["frames"]
    assert all("vars" not in frame for frame in frames)


@override_settings(ROOT_URLCONF="tests.rdk.test_sentry")
def test_no_event_for_a_healthy_request(client, sentry_events):
    assert client.get("/fine").status_code == 200
    assert sentry_events() == []
