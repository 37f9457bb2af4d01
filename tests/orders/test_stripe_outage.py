"""Stripe slow or down at checkout: the shopper is told to try again, the order
stays pending with its stock reserved, the retry reuses the same Checkout
Session (idempotency key), and the ops home shows the incident.

"Slow" is a proxy in front of the Stripe stand-in that passes each request on
and swallows the answer: Stripe did the work, RDK timed out waiting."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.models import Variant
from orders.models import Order, OrderStatus
from payments import gateway
from rdk import degradations
from rdk.rls import rls_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import UserFactory
from tests.rdk.servers import TcpProxy

pytestmark = pytest.mark.django_db

ORIGIN = {"HTTP_ORIGIN": "http://testserver"}
PROXY_PORT = 9841


@pytest.fixture
def quick_timeouts(monkeypatch):
    """The gateway's bounds, shortened so the test waits half a second, not 24."""
    monkeypatch.setattr(gateway, "TIMEOUT", (0.5, 0.5))
    gateway._client.cache_clear()
    yield
    gateway._client.cache_clear()
    degradations._active.clear()


@pytest.fixture
def slow_stripe(standin, settings, quick_timeouts):
    host, port = standin.url.removeprefix("http://").split(":")
    proxy = TcpProxy(PROXY_PORT, (host, int(port)), swallow_answers=True).start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{PROXY_PORT}"
    yield proxy
    proxy.stop()


def test_a_slow_stripe_keeps_the_order_and_the_retry_makes_no_second_session(
    client, standin, slow_stripe, settings, admin_client
):
    shopper = UserFactory()
    client.force_login(shopper)
    variant = VariantFactory(stock_on_hand=3)
    client.post("/cart/add", {"variant": variant.pk, "quantity": 1}, **ORIGIN)

    response = client.post("/checkout", follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "We could not open the payment page" in page
    assert "try again" in page
    with rls_scope(user=shopper):
        order = Order.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert Variant.objects.get(pk=variant.pk).stock_reserved == 1  # the reservation is kept
    assert len(standin.store.sessions) == 1  # Stripe made one; RDK never heard back

    ops = admin_client.get(reverse("admin:ops_home")).content.decode()
    assert "Stripe is not answering" in ops

    settings.STRIPE_API_BASE = standin.url  # Stripe answers again
    pay = client.post(reverse("orders:order_pay", args=[order.public_id]))
    assert pay.status_code == 302
    assert pay["Location"].startswith(standin.url + "/c/pay/cs_test_")
    assert len(standin.store.sessions) == 1, "the retry must reuse the session, not open another"
    assert degradations.degradation_get("stripe") is None
