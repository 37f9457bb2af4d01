"""The webhook row's deliveries: `checkout.session.completed` events of real
orders, each placed through the checkout path (`order_place`, then
`payment_handover` creating the Checkout Session on the Stripe stand-in), paid
on the stand-in, and signed with the configured webhook secret as it is sent.
One delivery in five is a duplicate of an earlier event, shuffled in.

The batch is fixed (every event is sent, then the row ends), so it is sent by a
small threaded client rather than wrk, which runs for a duration."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import F

from bench.wrk import Result
from catalog.models import Variant
from orders.addresses import ShippingAddress
from orders.exceptions import OrdersError
from orders.services.cart import DbCartStore, cart_add
from orders.services.checkout import order_place, payment_handover
from payments.models import StripeEvent
from payments.standin.webhooks import sign
from rdk.prodlike import FORWARDED_HEADERS
from rdk.rls import rls_scope, rls_service_scope

DUPLICATE_SHARE = 0.2

# Checkout needs a valid shipping address (orders.addresses); one serves every bench order.
BENCH_SHIP_TO = ShippingAddress(
    name="Bench Shopper",
    line1="1 Market St",
    city="San Francisco",
    region="CA",
    postal_code="94105",
    country="US",
)


@dataclass(frozen=True)
class Deliveries:
    """JSON bodies in sending order: every event once, plus duplicates."""

    payloads: list[str]
    event_ids: list[str]

    def delivered(self) -> int:
        """How many of these events the inbox stored (each exactly once)."""
        with rls_service_scope():
            return StripeEvent.objects.filter(stripe_id__in=self.event_ids).count()


def _standin(method: str, url: str, data: dict | None = None) -> dict:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(  # noqa: S310 (the stand-in on loopback)
        url,
        data=body,
        method=method,
        headers={
            "Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310
        return json.loads(response.read())


def _variants() -> list[Variant]:
    with rls_service_scope():
        return list(
            Variant.objects.filter(
                product__is_active=True,
                product__release_date__lte=time.strftime("%Y-%m-%d"),
                stock_on_hand__gt=F("stock_reserved"),
            ).order_by("pk")
        )


def paid_order_event(*, variants: list[Variant]) -> dict:
    """One order placed and paid; its `checkout.session.completed` event."""
    user = get_user_model().objects.create_user(
        username=f"bench-payer-{uuid.uuid4().hex[:12]}", email="payer@bench.invalid"
    )
    store = DbCartStore(user)
    for variant in random.sample(variants, 8):  # nosec B311
        with rls_scope(user=user):
            try:
                cart_add(store=store, variant_id=variant.pk, quantity=1)
                order = order_place(user=user, store=store, ship_to=BENCH_SHIP_TO)
            except OrdersError:  # another thread took the last pair: the next size
                store.clear()
                continue
        break
    else:
        raise RuntimeError("No variant left in stock for the webhook row; reseed the bench DB.")
    payment_handover(order)
    with rls_service_scope():
        order.refresh_from_db()
    base = settings.STRIPE_API_BASE.rstrip("/")
    paid = _standin(
        "POST",
        f"{base}/_standin/sessions/{order.checkout_session_id}/complete",
        {"deliver": "hold"},
    )
    for summary in paid["events"]:
        if summary["type"] == "checkout.session.completed":
            return _standin("GET", f"{base}/v1/events/{summary['id']}")
    raise RuntimeError(f"The stand-in sent no checkout.session.completed for {order}.")


def deliveries_prepare(*, distinct: int, workers: int = 4) -> Deliveries:
    """`distinct` paid orders' events plus 20 % duplicates, shuffled; each
    duplicate comes after its first delivery, as Stripe's retries do."""
    variants = _variants()
    if len(variants) < 8:
        raise RuntimeError("Fewer than 8 variants in stock; reseed the bench DB.")

    def one(_: int) -> dict:
        try:
            return paid_order_event(variants=variants)
        finally:
            connections.close_all()  # this thread's connection

    with ThreadPoolExecutor(max_workers=workers) as pool:
        events = list(pool.map(one, range(distinct)))
    payloads = [json.dumps(event, separators=(",", ":")) for event in events]
    duplicates = int(distinct * DUPLICATE_SHARE / (1 - DUPLICATE_SHARE))
    sent = list(payloads)
    for _ in range(duplicates):
        original = random.randrange(distinct)  # nosec B311
        position = random.randrange(original + 1, len(sent) + 1)  # nosec B311
        sent.insert(position, payloads[original])
    return Deliveries(payloads=sent, event_ids=[e["id"] for e in events])


@dataclass(frozen=True)
class Sent:
    """What sending the batch measured: the server's rate and latencies, and
    the CPU the sending client itself spent per delivery (it shares the
    machine's cores with the server it measures)."""

    result: Result
    client_cpu_ms: float


def deliveries_send(*, port: int, deliveries: Deliveries, connections_count: int) -> Sent:
    """POST every delivery once, `connections_count` at a time, each signed as
    it is sent; the rate is deliveries over the wall time of the whole batch."""
    secret = settings.STRIPE_WEBHOOK_SECRETS[0]
    queue = list(enumerate(deliveries.payloads))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0

    def sender() -> None:
        nonlocal errors
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if not queue:
                    break
                _, payload = queue.pop(0)
            body = payload.encode()
            headers = {
                **FORWARDED_HEADERS,
                "Content-Type": "application/json",
                "Stripe-Signature": sign(body, secret, int(time.time())),
            }
            started = time.perf_counter()
            try:
                connection.request("POST", "/api/stripe/webhook", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = 200 <= response.status < 300
                if response.will_close:
                    connection.close()
            except (OSError, http.client.HTTPException):
                connection.close()
                ok = False
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                errors += not ok
        connection.close()

    started, cpu_started = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=sender) for _ in range(connections_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - cpu_started
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))]

    result = Result(
        rps=len(latencies) / elapsed,
        p50=percentile(50),
        p95=percentile(95),
        p99=percentile(99),
        requests=len(latencies),
        errors=errors,
    )
    return Sent(result=result, client_cpu_ms=client_cpu * 1000 / max(len(latencies), 1))
