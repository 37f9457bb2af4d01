"""Signed Stripe webhook deliveries to RDK's inbox (POST /api/stripe/webhook).

Each delivery is signed with Stripe's scheme (`t=<time>,v1=<HMAC-SHA256 of
"<t>.<body>">`) and the configured whsec secret. The mix:

- new events of types RDK stores without a handler (answered 200, `ignored`);
- duplicates: an event already sent, delivered again with a fresh signature
  (answered 200, `duplicate: true`, no second effect);
- real `checkout.session.completed` events of orders the checkout shoppers
  paid, fetched from the Stripe stand-in and delivered again (as Stripe's
  at-least-once delivery does): answered 200, the order marked paid once.

Success is a 2xx; the summary requires at least 99.5 % of deliveries to succeed.
Webhook senders come from addresses of their own (Stripe sends from several).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
import uuid
from collections import deque

from locust import constant_throughput, task
from shared import STANDIN, WEBHOOK_SECRET, RdkUser, count

WEBHOOK = "/api/stripe/webhook"
# Types Stripe sends that RDK stores without acting on them.
IGNORED_TYPES = (
    "customer.created",
    "customer.updated",
    "payment_intent.created",
    "charge.succeeded",
    "invoice.paid",
    "product.updated",
)
STANDIN_KEY = "sk_test_rdk_local_standin"


def signature(payload: str, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.{payload}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def new_event(event_type: str) -> dict:
    return {
        "id": f"evt_load_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {
            "object": {"id": f"obj_{uuid.uuid4().hex[:16]}", "object": event_type.split(".")[0]}
        },
    }


class StripeWebhookSender(RdkUser):
    kind = "webhook"
    network = 3
    fixed_count = 2
    wait_time = constant_throughput(4)

    def on_start(self) -> None:
        self.sent: deque[str] = deque(maxlen=200)

    def deliver(self, payload: str, *, label: str) -> None:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature(payload, WEBHOOK_SECRET),
        }
        count("webhook:sent")
        count(f"webhook:sent:{label}")
        with self.client.post(
            WEBHOOK, data=payload, headers=headers, name=f"webhook ({label})", catch_response=True
        ) as response:
            if 200 <= response.status_code < 300:
                count("webhook:2xx")
                try:
                    if response.json().get("duplicate"):
                        count("webhook:acknowledged_duplicate")
                except ValueError:
                    pass
                response.success()
            else:
                count("webhook:failed")
                response.failure(f"webhook answered {response.status_code}")

    @task(6)
    def new(self) -> None:
        payload = json.dumps(new_event(random.choice(IGNORED_TYPES)))
        self.sent.append(payload)
        self.deliver(payload, label="new")

    @task(3)
    def duplicate(self) -> None:
        if not self.sent:
            return self.new()
        self.deliver(random.choice(self.sent), label="duplicate")

    @task(1)
    def real_checkout_event(self) -> None:
        """A checkout.session.completed the stand-in sent for a shopper's order, again."""
        with self.client.get(
            f"{STANDIN}/v1/events?type=checkout.session.completed&limit=20",
            headers={"Authorization": f"Bearer {STANDIN_KEY}"},
            name="stand-in: list events",
            context={"kind": "standin"},
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"stand-in answered {response.status_code}")
                return
            events = response.json().get("data") or []
            response.success()
        if not events:
            return self.duplicate()
        self.deliver(json.dumps(random.choice(events)), label="checkout.session.completed")
