"""Redis down (or hanging) degrades the shop instead of failing it.

Each test points the default cache at a redis-server of its own (port
RDK_TEST_OWN_REDIS_PORT, 9801 by default), which it stops, pauses and starts;
the machine's shared Redis is never touched."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from decimal import Decimal

import pytest
import redis
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse

from rdk import cachetags, degradations
from rdk.ratelimits import enforce
from rdk.switches import switch_set
from tests.catalog.factories import BrandFactory, ProductFactory, VariantFactory

PORT = int(os.environ.get("RDK_TEST_OWN_REDIS_PORT", "9801"))

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        shutil.which("redis-server") is None and os.environ.get("CI") != "true",
        reason="needs redis-server (apt-get install redis-server)",
    ),
]


class OwnRedis:
    """A redis-server this test may stop, start and pause."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None
        # A pool of its own: no retries, so "nothing listens" answers at once.
        self.client = redis.Redis(connection_pool=redis.ConnectionPool(port=port, socket_timeout=5))

    def start(self) -> None:
        try:
            self.client.ping()
        except redis.exceptions.ConnectionError:
            pass
        else:
            pytest.fail(f"something already listens on port {self.port}; stop it first")
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.02)  # polling the server's readiness, not standing in for it

    def freeze(self) -> None:
        """Redis hangs (SIGSTOP): connections open, nothing ever answers."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.thaw()
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(settings):
    server = OwnRedis(PORT)
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "rdk.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{PORT}/0",
            "KEY_PREFIX": "rdk",
            "RETRY_SECONDS": 60,  # recovery comes from /readyz's probe in these tests
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    from rdk import switches

    switches._forget()
    yield server
    server.stop()
    degradations._active.clear()


@pytest.fixture
def shop():
    brand = BrandFactory(name="Nike", slug="nike")
    product = ProductFactory(brand=brand, name="Dunk Low", slug="dunk-low", price_amount=12000)
    VariantFactory(product=product, size=Decimal("9"))
    return product


def test_every_page_renders_from_postgresql_while_redis_is_down(
    client, own_redis, shop, json_logs, monkeypatch
):
    # Past the window in which a process keeps the tag versions it read
    # (rdk.cachetags.LOCAL_TTL, 0.2 s, tested in test_front.py): within it a
    # process serves its own copy whatever Redis does, as it would after a
    # revalidation; after it, an unreachable Redis must never serve that copy.
    monkeypatch.setattr(cachetags, "LOCAL_TTL", 0.0)
    assert client.get("/products")["X-RDK-Cache"] == "miss"
    assert client.get("/products")["X-RDK-Cache"] == "hit"
    own_redis.stop()
    for _ in range(2):
        for path in ("/", "/products", "/products/dunk-low", "/api/v1/products"):
            response = client.get(path)
            assert response.status_code == 200, path
        assert b"Dunk Low" in client.get("/products").content
        # Never the copy this process kept from before: a revalidation could not reach it.
        assert client.get("/products")["X-RDK-Cache"] == "miss"

    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["ok"] is False
    assert body["checks"]["cache"]["degraded"] is True
    assert body["checks"]["database"]["ok"] is True
    assert [item["dependency"] for item in body["degradations"]] == ["cache"]
    started = [line for line in json_logs() if line["event"] == "degradation.started"]
    assert len(started) == 1, "one line per interval, not one per cache call"
    assert started[0]["dependency"] == "cache"
    assert "127.0.0.1" not in started[0]["reason"]

    own_redis.start()
    ready = client.get("/readyz")
    assert ready.json()["status"] == "ok"
    assert degradations.degradations_active() == []
    assert any(line["event"] == "degradation.ended" for line in json_logs())
    client.get("/products")
    assert client.get("/products")["X-RDK-Cache"] == "hit"


def test_a_retry_pause_spares_each_call_the_timeout(own_redis, shop):
    own_redis.freeze()  # every call would time out
    started = time.monotonic()
    for _ in range(20):
        assert cache.get("anything") is None
    # One 0.5 s timeout, then the pause answers at once (a bound, not a benchmark).
    assert time.monotonic() - started < 5
    assert degradations.degradation_get("cache").count == 20


def test_signed_in_shoppers_keep_their_session(client, own_redis):
    user = get_user_model().objects.create_user("sam", "sam@example.com", "pw-12345-long")
    client.force_login(user)
    own_redis.stop()
    page = client.get("/account/")
    assert page.status_code == 200
    assert b"sam@example.com" in page.content


def test_a_sign_out_while_redis_is_cut_off_stays_signed_out(client, own_redis):
    """A Redis that was only unreachable still holds the session: the delete the
    sign-out could not make is made as soon as Redis answers again."""
    user = get_user_model().objects.create_user("kim", "kim@example.com", "pw-12345-long")
    client.force_login(user)
    session_cookie = client.cookies["sessionid"].value
    assert client.get("/account/").status_code == 200
    own_redis.freeze()
    assert client.post("/account/logout/").status_code == 302
    own_redis.thaw()
    assert client.get("/readyz").json()["status"] == "ok"  # the probe ends the outage
    client.cookies["sessionid"] = session_cookie
    again = client.get("/account/")
    assert again.status_code == 302, "the old session must not come back from Redis"


def test_switches_fall_back_to_the_database(
    client, own_redis, shop, django_capture_on_commit_callbacks
):
    own_redis.stop()
    with django_capture_on_commit_callbacks(execute=True):
        switch_set(name="maintenance.catalog", on=True, actor="ops", reason="restock")
    assert client.get("/products").status_code == 503
    with django_capture_on_commit_callbacks(execute=True):
        switch_set(name="maintenance.catalog", on=False, actor="ops", reason="done")
    assert client.get("/products").status_code == 200


def test_rate_limits_follow_their_cache_down_policy(own_redis, settings):
    settings.RATE_LIMITS = {"signin_ip": "3/m", "api_ip": "1/m"}
    own_redis.stop()
    request = RequestFactory().post("/account/login/", {"username": "x"})
    refused = [enforce(request, "signin_ip") for _ in range(5)]
    # per-process: sign-in attempts still counted, in this process's memory
    assert [item is None for item in refused] == [True, True, True, False, False]
    assert refused[-1].limit == "signin_ip"
    # open: browsing is never refused because the counters are unreachable
    browse = RequestFactory().get("/api/v1/products")
    assert all(enforce(browse, "api_ip") is None for _ in range(5))


def test_the_ops_home_shows_the_degradation(admin_client, own_redis):
    own_redis.stop()
    page = admin_client.get(reverse("admin:ops_home")).content.decode()
    assert "Degradations" in page
    assert "Redis is unreachable" in page
    assert "Degraded: cache" in page
