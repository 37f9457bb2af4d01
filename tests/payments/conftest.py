"""Payments fixtures: signed webhook posts, a test handler with an observable
effect (a row), and the local Stripe stand-in on a free port, spoken to with the
real Stripe SDK."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from uuid import uuid4

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from payments import registry
from payments.gateway import API_VERSION, client
from payments.signatures import signature_header
from payments.standin import StandIn
from rdk import env

SECRET = "whsec_test_current"
OLD_SECRET = "whsec_test_previous"
EFFECT_TYPE = "rdk.test.effect"


def stripe_session(session_id: str) -> dict:
    """The session exactly as the stand-in reports it, line items and payment
    intent expanded: what these tests check of the stand-in itself."""
    expand = ["line_items", "payment_intent"]
    return client().v1.checkout.sessions.retrieve(session_id, params={"expand": expand}).to_dict()


def make_event(event_type: str = EFFECT_TYPE, *, event_id: str | None = None, **obj) -> dict:
    return {
        "id": event_id or f"evt_{uuid4().hex[:24]}",
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": {"id": "cs_test_x", "object": "checkout.session", **obj}},
    }


def post_webhook(
    client, body, *, secret: str | None = SECRET, timestamp=None, header=None, **headers
):
    payload = body if isinstance(body, bytes | str) else json.dumps(body)
    extra = dict(headers)
    if header is not None:
        extra["HTTP_STRIPE_SIGNATURE"] = header
    elif secret is not None:
        text = payload.decode() if isinstance(payload, bytes) else payload
        extra["HTTP_STRIPE_SIGNATURE"] = signature_header(text, secret, timestamp)
    return client.post(
        reverse("payments:webhook"), data=payload, content_type="application/json", **extra
    )


@pytest.fixture(autouse=True)
def webhook_secrets(settings):
    settings.STRIPE_WEBHOOK_SECRETS = [SECRET]
    return settings.STRIPE_WEBHOOK_SECRETS


@dataclass
class Effect:
    """A handler whose effect is a Group row named after the event; `failing`
    makes it write the row and then raise, so a rollback is observable."""

    event_type: str
    failing: bool = False
    calls: list[str] = field(default_factory=list)

    def __call__(self, event) -> None:
        self.calls.append(event.stripe_id)
        Group.objects.create(name=f"effect {event.stripe_id} {uuid4().hex[:8]}")
        if self.failing:
            raise RuntimeError("the shop's database said no")

    def count(self, stripe_id: str) -> int:
        return Group.objects.filter(name__startswith=f"effect {stripe_id} ").count()


@pytest.fixture
def effect():
    handler = Effect(EFFECT_TYPE)
    registry.register(EFFECT_TYPE, handler)
    yield handler
    registry.unregister(EFFECT_TYPE)


@pytest.fixture
def standin_factory(settings):
    started: list[StandIn] = []

    def start(*, webhook_url: str | None = None, **options) -> StandIn:
        standin = StandIn(
            secret_key=env.STANDIN_SECRET_KEY,
            webhook_secret=SECRET,
            webhook_url=webhook_url,
            api_version=API_VERSION,
            port=0,
            **options,
        ).start()
        started.append(standin)
        settings.STRIPE_API_BASE = standin.url
        settings.STRIPE_SECRET_KEY = env.STANDIN_SECRET_KEY
        return standin

    yield start
    for standin in started:
        standin.stop()


@pytest.fixture
def standin(standin_factory):
    return standin_factory()


def control(standin: StandIn, path: str, data: dict | None = None, method: str = "POST"):
    """Call one of the stand-in's /_standin/ control endpoints; returns (status, json)."""
    request = urllib.request.Request(  # noqa: S310
        standin.url + path,
        data=json.dumps(data or {}).encode() if method == "POST" else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
