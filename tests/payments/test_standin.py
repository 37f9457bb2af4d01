"""The stand-in speaks Stripe's HTTP API as RDK needs it: auth, errors, form
encoding, idempotency, expiry; and it delivers signed webhooks that RDK's own
endpoint accepts (live server), with duplicates, reordering and retries."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from payments.gateway import API_VERSION
from payments.models import StripeEvent
from payments.standin.objects import StripeApiError, decode_form
from payments.standin.server import StandIn
from payments.standin.store import Store
from rdk import env
from tests.payments.conftest import control, stripe_session
from tests.payments.test_gateway import create


def call(standin, method: str, path: str, body: str = "", key=env.STANDIN_SECRET_KEY, **headers):
    request = urllib.request.Request(  # noqa: S310
        standin.url + path, data=body.encode() if body else None, method=method
    )
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


SESSION = (
    "mode=payment&success_url=http%3A%2F%2Fx%2Fok&client_reference_id=ord_9"
    "&line_items[0][price_data][currency]=usd&line_items[0][price_data][unit_amount]=5000"
    "&line_items[0][price_data][product_data][name]=Samba&line_items[0][quantity]=2"
)


def test_stripe_form_encoding_is_decoded_into_nested_objects():
    assert decode_form("a[b][0][c]=1&a[b][1][c]=2&expand[]=x&expand[]=y&m[k]=v&plain=") == {
        "a": {"b": [{"c": "1"}, {"c": "2"}]},
        "expand": ["x", "y"],
        "m": {"k": "v"},
        "plain": "",
    }


def test_requests_without_the_stand_ins_key_are_refused_like_stripe(standin):
    status, body, _ = call(standin, "GET", "/v1/events", key=None)
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in body["error"]["message"]
    status, body, _ = call(standin, "GET", "/v1/events", key="sk_test_wrong_key_1234")
    assert status == 401
    assert body["error"]["message"] == "Invalid API Key provided: sk_****1234"


def test_errors_have_stripes_shape_and_status(standin):
    status, body, headers = call(standin, "GET", "/v1/checkout/sessions/cs_test_missing")
    assert status == 404
    assert body["error"]["code"] == "resource_missing"
    assert body["error"]["param"] == "session"
    assert headers["Request-Id"].startswith("req_")
    status, body, _ = call(standin, "POST", "/v1/checkout/sessions", "mode=payment")
    assert (status, body["error"]["param"]) == (400, "success_url")
    status, body, _ = call(standin, "GET", "/v1/nothing_here")
    assert status == 404
    assert "Unrecognized request URL" in body["error"]["message"]
    bad = SESSION.replace("unit_amount]=5000", "unit_amount]=lots")
    status, body, _ = call(standin, "POST", "/v1/checkout/sessions", bad)
    assert (status, body["error"]["message"]) == (400, "Invalid integer: lots")


def test_idempotency_keys_replay_the_first_response(standin):
    status, first, _ = call(standin, "POST", "/v1/checkout/sessions", SESSION, Idempotency_Key="k1")
    assert status == 200
    status, again, headers = call(
        standin, "POST", "/v1/checkout/sessions", SESSION, Idempotency_Key="k1"
    )
    assert (status, again["id"], headers.get("Idempotent-Replayed")) == (200, first["id"], "true")
    other = SESSION.replace("ord_9", "ord_10")
    status, body, _ = call(standin, "POST", "/v1/checkout/sessions", other, Idempotency_Key="k1")
    assert (status, body["error"]["type"]) == (400, "idempotency_error")
    status, listed, _ = call(standin, "GET", "/v1/checkout/sessions?limit=100")
    assert [s["id"] for s in listed["data"]] == [first["id"]]


def test_a_key_whose_request_failed_validation_can_be_retried(standin):
    bad = SESSION.replace("unit_amount]=5000", "unit_amount]=lots")
    status, _, _ = call(standin, "POST", "/v1/checkout/sessions", bad, Idempotency_Key="k2")
    assert status == 400
    status, _, _ = call(standin, "POST", "/v1/checkout/sessions", SESSION, Idempotency_Key="k2")
    assert status == 200


def test_lists_page_like_stripe(standin):
    from payments.gateway import client

    created = [call(standin, "POST", "/v1/checkout/sessions", SESSION)[1]["id"] for _ in range(7)]
    first = client().v1.checkout.sessions.list(params={"limit": 3})
    assert first.has_more is True
    assert [s.id for s in first.data] == created[::-1][:3]
    assert [s.id for s in first.auto_paging_iter()] == created[::-1]


def test_line_items_and_payment_objects_follow_stripes_shapes(standin):
    _, session, _ = call(standin, "POST", "/v1/checkout/sessions", SESSION)
    assert session["amount_total"] == 10000
    _, items, _ = call(standin, "GET", f"/v1/checkout/sessions/{session['id']}/line_items")
    assert items["object"] == "list"
    assert items["data"][0]["price"]["object"] == "price"
    control(standin, f"/_standin/sessions/{session['id']}/complete", {"deliver": "hold"})
    _, paid, _ = call(standin, "GET", f"/v1/checkout/sessions/{session['id']}")
    _, intent, _ = call(standin, "GET", f"/v1/payment_intents/{paid['payment_intent']}")
    _, charge, _ = call(standin, "GET", f"/v1/charges/{intent['latest_charge']}")
    assert (intent["object"], intent["status"]) == ("payment_intent", "succeeded")
    assert (charge["object"], charge["paid"], charge["amount"]) == ("charge", True, 10000)
    _, events, _ = call(standin, "GET", "/v1/events?type=checkout.session.completed")
    event = events["data"][0]
    assert (event["object"], event["api_version"]) == ("event", API_VERSION)
    assert event["data"]["object"]["client_reference_id"] == "ord_9"


def test_an_unknown_expansion_is_refused(standin):
    _, session, _ = call(standin, "POST", "/v1/checkout/sessions", SESSION)
    status, body, _ = call(standin, "GET", f"/v1/checkout/sessions/{session['id']}?expand[]=x")
    assert (status, body["error"]["param"]) == (400, "expand")


def test_sessions_past_their_expiry_expire_with_an_event():
    now = [1_800_000_000.0]
    store = Store(public_url="http://127.0.0.1:1", api_version=API_VERSION, clock=lambda: now[0])
    params = decode_form(SESSION + f"&expires_at={int(now[0]) + 1800}")
    session = store.session_create(params)
    assert store.expire_due() == []
    now[0] += 1800
    (event,) = store.expire_due()
    assert event["type"] == "checkout.session.expired"
    assert event["data"]["object"]["id"] == session["id"]
    assert store.session_view(session["id"])["status"] == "expired"
    with pytest.raises(StripeApiError, match="can no longer be paid"):
        store.session_pay(session["id"], "succeeds")


def test_the_stand_in_refuses_to_listen_beyond_loopback():
    with pytest.raises(ValueError, match="loopback"):
        StandIn(
            host="0.0.0.0",  # noqa: S104
            secret_key="sk_test_x",
            webhook_secret="whsec_x",
            webhook_url=None,
            api_version=API_VERSION,
        )


def test_the_command_refuses_a_public_host(manage):
    result = manage("stripe_standin", "--host", "0.0.0.0", "--port", "0")  # noqa: S104
    assert result.returncode != 0
    assert "loopback only" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_command_refuses_a_malformed_webhook_header(manage):
    result = manage("stripe_standin", "--port", "0", "--webhook-header", "no-colon-here")
    assert result.returncode != 0
    assert "is not 'Name: value'" in result.stderr
    assert "Traceback" not in result.stderr


# Webhooks delivered to RDK's own endpoint ----------------------------------------------


@pytest.fixture
def wired(live_server, standin_factory, effect):
    """A stand-in whose webhooks go to the live server; checkout.session.completed
    is handled by the test effect."""
    from payments import registry

    for event_type in registry.registered_types():  # orders' handlers, restored after
        registry.unregister(event_type)
    registry.register("checkout.session.completed", effect)
    standin = standin_factory(
        webhook_url=live_server.url + "/api/stripe/webhook", first_backoff=0.05
    )
    return standin


def _expires() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


@pytest.mark.django_db(transaction=True)
def test_signed_webhooks_from_the_stand_in_are_accepted_end_to_end(wired, effect):
    session = create(reference="ord_e2e")
    status, body = control(wired, f"/_standin/sessions/{session.id}/complete", {"deliver": "sync"})
    assert status == 200
    assert [d["status"] for d in body["deliveries"]] == [200]
    stored = StripeEvent.objects.get(type="checkout.session.completed")
    assert stored.status == StripeEvent.Status.PROCESSED
    assert stored.payload["data"]["object"]["client_reference_id"] == "ord_e2e"
    assert stored.payload["data"]["object"]["payment_status"] == "paid"
    assert effect.count(stored.stripe_id) == 1


@pytest.mark.django_db(transaction=True)
def test_duplicated_concurrent_and_reordered_deliveries_have_one_effect_each(wired, effect):
    session = create(reference="ord_dup")
    control(wired, f"/_standin/sessions/{session.id}/fail", {"deliver": "hold"})
    control(wired, f"/_standin/sessions/{session.id}/complete", {"deliver": "hold"})
    events = [e["id"] for e in call(wired, "GET", "/v1/events")[1]["data"]]
    status, body = control(
        wired,
        "/_standin/deliveries",
        {"events": events, "copies": 4, "order": "reverse", "concurrent": True},
    )
    assert status == 200
    assert [d["status"] for d in body["deliveries"]] == [200] * 8
    completed = StripeEvent.objects.get(type="checkout.session.completed")
    assert completed.delivery_count == 4
    assert effect.count(completed.stripe_id) == 1
    failed_payment = StripeEvent.objects.get(type="payment_intent.payment_failed")
    assert failed_payment.status == StripeEvent.Status.IGNORED


@pytest.mark.django_db(transaction=True)
def test_a_failed_delivery_is_retried_until_it_succeeds(wired, effect):
    effect.failing = True
    session = create(reference="ord_retry")
    control(wired, f"/_standin/sessions/{session.id}/complete")  # queued, in the background
    assert control(wired, "/_standin/deliveries/flush")[1]["settled"] is True
    stored = StripeEvent.objects.get(type="checkout.session.completed")
    assert stored.status == StripeEvent.Status.FAILED

    effect.failing = False
    assert control(wired, "/_standin/deliveries/flush", {"retries": True})[1] == {
        "settled": True,
        "retrying": 0,
    }
    stored.refresh_from_db()
    assert stored.status == StripeEvent.Status.PROCESSED
    assert effect.count(stored.stripe_id) == 1
    (delivery,) = control(wired, "/_standin/deliveries", method="GET")[1]["deliveries"]
    assert delivery["state"] == "delivered"
    assert delivery["statuses"][0] == 500
    assert delivery["statuses"][-1] == 200


@pytest.mark.django_db(transaction=True)
def test_async_payments_settle_through_the_control_endpoint(wired):
    session = create(reference="ord_async")
    control(
        wired,
        f"/_standin/sessions/{session.id}/complete",
        {"outcome": "async_succeeds", "deliver": "sync"},
    )
    data = stripe_session(session.id)
    assert (data["status"], data["payment_status"]) == ("complete", "unpaid")
    assert data["payment_intent"]["status"] == "processing"
    _status, body = control(wired, f"/_standin/sessions/{session.id}/fail", {"deliver": "sync"})
    assert [e["type"] for e in body["events"]] == [
        "payment_intent.payment_failed",
        "checkout.session.async_payment_failed",
    ]
    assert set(StripeEvent.objects.values_list("type", flat=True)) == {
        "checkout.session.completed",
        "payment_intent.payment_failed",
        "checkout.session.async_payment_failed",
    }


def test_bad_control_requests_are_400s(standin):
    session = create(reference="ord_bad")
    assert control(standin, f"/_standin/sessions/{session.id}/complete", {"deliver": "x"})[0] == 400
    assert control(standin, "/_standin/deliveries", {"copies": 99})[0] == 400
    assert control(standin, "/_standin/deliveries", {"events": ["evt_nope"]})[0] == 404
    status, _body = control(standin, f"/_standin/sessions/{session.id}/complete", {"outcome": "?"})
    assert status == 400


def test_the_command_serves_the_stand_in_as_its_own_process():
    import os
    import subprocess
    import sys

    from tests.conftest import BASE_DIR

    process = subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), "stripe_standin", "--port", "0"],
        cwd=BASE_DIR,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline()
        assert banner.startswith("Stripe stand-in at http://127.0.0.1:")
        url = banner.split()[3]
        with urllib.request.urlopen(url + "/_standin/health", timeout=10) as response:  # noqa: S310
            assert json.loads(response.read())["status"] == "ok"
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_webhook_headers_are_added_to_every_delivery():
    """Behind a TLS-terminating balancer RDK sees X-Forwarded-Proto; the stand-in
    adds it when asked (make loadtest runs RDK production-like on plain HTTP)."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from payments.standin.webhooks import Deliverer

    seen: list[dict] = []

    def app(environ, start_response):
        seen.append({k: v for k, v in environ.items() if k.startswith("HTTP_")})
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    deliverer = Deliverer(
        url=f"http://127.0.0.1:{server.server_port}/hook",
        secret="whsec_test",
        headers={"X-Forwarded-Proto": "https"},
    )
    try:
        assert deliverer.post(b"{}") == 200
    finally:
        thread.join(timeout=5)
        server.server_close()
    assert seen[0]["HTTP_X_FORWARDED_PROTO"] == "https"
    assert seen[0]["HTTP_STRIPE_SIGNATURE"].startswith("t=")
