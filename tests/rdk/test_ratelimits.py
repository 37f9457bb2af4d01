"""Rate limits: every limit answers 429 with Retry-After once its count is
spent, as a page for browsers and JSON for API clients, logs the refusal, and
never touches a legitimate shopper's browsing.

Each limit is exercised on a tiny view of this module's own URLconf, decorated
exactly as the shop's views are."""

from __future__ import annotations

import pytest
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.decorators import ratelimit
from django_ratelimit.exceptions import Ratelimited
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from rdk import env, health
from rdk.checks import ratelimit_cache_check
from rdk.clientip import client_ip
from rdk.ratelimits import KEY_KINDS, LIMITS, is_valid_rate, rate_limit


def ok(request):
    return HttpResponse("ok")


class ItemsApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"items": []})


class RaisingApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise Ratelimited()


@csrf_exempt
@rate_limit("webhook")
def webhook(request):
    return JsonResponse({"received": True})


urlpatterns = [
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("products/", ok),
    path("account/login/", rate_limit("signin_ip", "signin_account")(ok)),
    path("account/signup/", rate_limit("signup_ip")(ok)),
    path("account/password-reset/", rate_limit("password_reset_ip", "password_reset_email")(ok)),
    path("account/otp/", rate_limit("otp_verify")(ok)),
    path("cart/add", rate_limit("cart")(ok)),
    path("checkout", rate_limit("checkout")(ok)),
    path("api/v1/items", ItemsApi.as_view()),
    path("api/v1/raising", RaisingApi.as_view()),
    path("api/stripe/webhook", webhook),
    path("api/stripe/webhook-rejected", csrf_exempt(rate_limit("webhook_rejected")(ok))),
    path("raising", ratelimit(key="ip", rate="1/m", block=True)(ok)),
    path("", include("rdk.urls")),  # the error handlers' templates need the shop's URL names
]
handler403 = "rdk.views.permission_denied"


@pytest.fixture(autouse=True)
def _urls(settings):
    settings.ROOT_URLCONF = __name__
    settings.TRUSTED_PROXY_COUNT = 0
    settings.RATE_LIMITS = {}


def addr(i: int) -> str:
    return f"198.51.100.{i}"


@pytest.fixture
def shopper(django_user_model):
    return django_user_model.objects.create_user("shopper", "shopper@example.com", "pw-x-12345")


def assert_429(response, *, window: int = 60) -> None:
    assert response.status_code == 429, response.status_code
    assert 1 <= int(response["Retry-After"]) <= window
    assert "no-store" in response["Cache-Control"]


# Each limit: (name, url, method, request maker(i) → kwargs, needs a signed-in user)
# The maker varies everything the limit does *not* count by, so the 429 proves
# it counts by the right key.
CASES = [
    ("signin_ip", "/account/login/", "post", lambda i: {"data": {"username": f"u{i}"}}, False),
    (
        "signin_account",
        "/account/login/",
        "post",
        # one account, spelled differently, from a different address each time
        lambda i: {"data": {"username": f"  Shopper@Example.com{' ' * i}"}, "REMOTE_ADDR": addr(i)},
        False,
    ),
    ("signup_ip", "/account/signup/", "post", lambda i: {"data": {"email": f"n{i}@x.io"}}, False),
    (
        "password_reset_ip",
        "/account/password-reset/",
        "post",
        lambda i: {"data": {"email": f"r{i}@x.io"}},
        False,
    ),
    (
        "password_reset_email",
        "/account/password-reset/",
        "post",
        lambda i: {"data": {"email": "VICTIM@x.io"}, "REMOTE_ADDR": addr(i)},
        False,
    ),
    ("otp_verify", "/account/otp/", "post", lambda i: {"data": {"token": "123456"}}, False),
    (
        "otp_verify",
        "/account/otp/",
        "post",
        lambda i: {"data": {"token": "123456"}, "REMOTE_ADDR": addr(i)},
        True,
    ),
    ("cart", "/cart/add", "post", lambda i: {"data": {"variant": i}}, False),
    ("checkout", "/checkout", "post", lambda i: {}, False),
    ("checkout", "/checkout", "post", lambda i: {"REMOTE_ADDR": addr(i)}, True),
    ("api_ip", "/api/v1/items", "get", lambda i: {}, False),
    ("api_user", "/api/v1/items", "get", lambda i: {"REMOTE_ADDR": addr(i)}, True),
    ("webhook", "/api/stripe/webhook", "post", lambda i: {"data": {}}, False),
    ("webhook_rejected", "/api/stripe/webhook-rejected", "post", lambda i: {"data": {}}, False),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "url", "method", "make", "signed_in"),
    CASES,
    ids=[f"{case[0]}{'-user' if case[4] else ''}" for case in CASES],
)
def test_each_limit_answers_429_after_its_count(
    client, settings, shopper, json_logs, name, url, method, make, signed_in
):
    settings.RATE_LIMITS = {name: "3/m"}
    if signed_in:
        client.force_login(shopper)
    send = getattr(client, method)
    for i in range(3):
        assert send(url, **make(i)).status_code == 200, f"request {i + 1} of 3 refused"
    refused = send(url, **make(3))
    assert_429(refused)
    exceeded = [line for line in json_logs() if line["event"] == "ratelimit.exceeded"]
    assert [line["limit"] for line in exceeded] == [name]
    assert exceeded[0]["request_id"] == refused["X-Request-ID"]
    assert exceeded[0]["level"] == "warning"


def test_every_limit_in_the_table_is_exercised():
    assert {case[0] for case in CASES} == set(LIMITS)


def test_the_table_is_well_formed():
    for limit in LIMITS.values():
        assert is_valid_rate(limit.rate), limit.name
        assert set(limit.keys) <= set(KEY_KINDS), limit.name
        assert limit.description.endswith("."), limit.name


@pytest.mark.django_db
def test_browsers_get_the_shop_page(client, settings):
    settings.RATE_LIMITS = {"signin_ip": "1/m"}
    client.post("/account/login/", {"username": "a"})
    response = client.post(
        "/account/login/", {"username": "b"}, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*"
    )
    assert_429(response)
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Slow down a little" in page
    assert f"try again in {response['Retry-After']} second" in page or "about" in page
    assert 'class="site-header"' in page  # the shop's own layout


@pytest.mark.django_db
def test_json_clients_get_json(client, settings):
    settings.RATE_LIMITS = {"signin_ip": "1/m"}
    client.post("/account/login/", {"username": "a"})
    response = client.post("/account/login/", {"username": "b"}, HTTP_ACCEPT="application/json")
    assert_429(response)
    body = response.json()
    assert body["error"] == "rate_limited"
    assert body["fields"] == {}
    assert response["Retry-After"] in body["message"]


@pytest.mark.django_db
def test_api_answers_json_with_retry_after(client, settings):
    settings.RATE_LIMITS = {"api_ip": "2/m"}
    client.get("/api/v1/items")
    client.get("/api/v1/items")
    response = client.get("/api/v1/items", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert_429(response)
    assert response.json()["error"] == "rate_limited"


@pytest.mark.django_db
def test_signed_in_api_users_are_counted_per_user_not_per_address(client, settings, shopper):
    settings.RATE_LIMITS = {"api_ip": "2/m", "api_user": "5/m"}
    client.force_login(shopper)
    statuses = [client.get("/api/v1/items").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


@pytest.mark.django_db
def test_get_requests_do_not_count_against_post_limits(client, settings):
    settings.RATE_LIMITS = {"signin_ip": "1/m", "cart": "1/m"}
    for _ in range(5):
        assert client.get("/account/login/").status_code == 200
        assert client.get("/cart/add").status_code == 200


@pytest.mark.django_db
def test_cart_counts_each_session_separately(client, settings):
    from django.test import Client

    settings.RATE_LIMITS = {"cart": "2/m"}
    client.session  # noqa: B018 (opens a session: the cookie is set)
    other = Client()
    other.session  # noqa: B018
    assert [client.post("/cart/add").status_code for _ in range(3)] == [200, 200, 429]
    assert other.post("/cart/add").status_code == 200


@pytest.mark.django_db
def test_a_raised_ratelimited_is_a_429_never_a_403(client, json_logs):
    client.get("/raising")
    response = client.get("/raising")
    assert_429(response)
    assert "Slow down a little" in response.content.decode()
    api = client.get("/api/v1/raising")
    assert_429(api)
    assert api.json()["error"] == "rate_limited"
    logged = [line for line in json_logs() if line["event"] == "ratelimit.exceeded"]
    assert [line["request_id"] for line in logged] == [
        response["X-Request-ID"],
        api["X-Request-ID"],
    ]


@pytest.mark.django_db
def test_handler_403_turns_ratelimited_into_429(rf):
    from rdk.views import permission_denied

    response = permission_denied(rf.get("/"), Ratelimited())
    assert response.status_code == 429
    assert permission_denied(rf.get("/"), PermissionError()).status_code == 403


@pytest.mark.django_db
def test_health_endpoints_are_never_limited(client, settings):
    settings.RATE_LIMITS = {name: "1/m" for name in LIMITS}
    for _ in range(30):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_a_legitimate_minute_of_shopping_is_never_limited(client, shopper):
    """Default rates, one address: 60 catalog pages, 60 API reads, a sign-in
    with one typo, a few cart changes and a checkout."""
    statuses = []
    for _ in range(60):
        statuses.append(client.get("/products/").status_code)
        statuses.append(client.get("/api/v1/items").status_code)
    statuses.append(client.get("/account/login/").status_code)
    statuses.append(client.post("/account/login/", {"username": "shopper"}).status_code)
    statuses.append(client.post("/account/login/", {"username": "shopper"}).status_code)
    client.force_login(shopper)
    statuses += [client.post("/cart/add", {"variant": n}).status_code for n in range(5)]
    statuses.append(client.post("/checkout").status_code)
    statuses += [client.get("/api/v1/items").status_code for _ in range(30)]
    assert 429 not in statuses
    assert set(statuses) == {200}


# Client address -------------------------------------------------------------------

IP_CASES = [
    # (trusted proxies, REMOTE_ADDR, X-Forwarded-For, expected)
    (0, "203.0.113.7", None, "203.0.113.7"),
    (0, "203.0.113.7", "1.2.3.4", "203.0.113.7"),  # not trusted: the header is ignored
    (1, "10.0.0.1", "1.2.3.4", "1.2.3.4"),
    (1, "10.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # the client forged the left entry
    (2, "10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.1", "1.2.3.4"),
    (2, "10.0.0.2", "1.2.3.4", "10.0.0.2"),  # too short: the socket address
    (1, "10.0.0.1", "not-an-ip", "10.0.0.1"),  # malformed: the socket address
    (1, "10.0.0.1", "", "10.0.0.1"),
    (1, "10.0.0.1", None, "10.0.0.1"),
    (1, "10.0.0.1", "2001:DB8::1", "2001:db8::1"),
    (0, "", None, "0.0.0.0"),  # noqa: S104 (the placeholder for no address)
]


@pytest.mark.parametrize(("proxies", "remote", "xff", "expected"), IP_CASES)
def test_client_ip(settings, proxies, remote, xff, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    extra = {"REMOTE_ADDR": remote}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    assert client_ip(RequestFactory().get("/", **extra)) == expected


@pytest.mark.django_db
def test_forged_forwarded_for_does_not_escape_the_limit_without_trusted_proxies(client, settings):
    settings.RATE_LIMITS = {"signin_ip": "2/m"}
    statuses = [
        client.post("/account/login/", {"username": "x"}, HTTP_X_FORWARDED_FOR=addr(i)).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 429]


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_is_counted_alone(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATE_LIMITS = {"signin_ip": "2/m"}

    def attempt(ip):
        return client.post(
            "/account/login/", {"username": "x"}, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=ip
        ).status_code

    assert [attempt(addr(1)) for _ in range(3)] == [200, 200, 429]
    assert attempt(addr(2)) == 200


# Overrides from the environment ------------------------------------------------------

OVERRIDES = [
    # (RATE_LIMITS, parsed, or None when it must be refused, words the problem contains)
    ("", {}, ""),
    ("signin_ip=20/m", {"signin_ip": "20/m"}, ""),
    (" signin_ip = 20/m , api_ip=1000/h,", {"signin_ip": "20/m", "api_ip": "1000/h"}, ""),
    ("signin_account=3/15m,webhook=100/s", {"signin_account": "3/15m", "webhook": "100/s"}, ""),
    ("login=10/m", None, "'login' is not a limit"),
    ("signin_ip", None, "is not name=rate"),
    ("=10/m", None, "is not name=rate"),
    ("signin_ip=ten/m", None, "signin_ip has rate 'ten/m'"),
    ("signin_ip=10", None, "signin_ip has rate '10'"),
    ("signin_ip=0/m", None, "signin_ip has rate '0/m'"),
    ("signin_ip=10/w", None, "signin_ip has rate '10/w'"),
    ("signin_ip=10/mm", None, "signin_ip has rate '10/mm'"),
    ("signin_ip=10/m,signin_ip=5/m", None, "signin_ip is given twice"),
    ("nope=1/m,cart=x", None, "'nope' is not a limit; cart has rate 'x'"),
]


@pytest.mark.parametrize(
    ("raw", "parsed", "words"), OVERRIDES, ids=[c[0] or "empty" for c in OVERRIDES]
)
def test_rate_limits_variable(raw, parsed, words):
    config = env.load({"RATE_LIMITS": raw})
    problems = {problem.name: str(problem) for problem in config.problems}
    if parsed is None:
        assert words in problems["RATE_LIMITS"]
        assert "expected comma-separated name=N/period" in problems["RATE_LIMITS"]
    else:
        assert problems == {}
        assert config["RATE_LIMITS"] == parsed


@pytest.mark.django_db
def test_an_override_changes_the_enforced_rate(client, settings):
    settings.RATE_LIMITS = env.load({"RATE_LIMITS": "signup_ip=1/h"})["RATE_LIMITS"]
    assert client.post("/account/signup/").status_code == 200
    assert_429(client.post("/account/signup/"), window=3600)


def test_unknown_names_in_the_decorator_fail_at_import():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="login"):
        rate_limit("login")


# The shared-cache system check -------------------------------------------------------


@pytest.mark.parametrize(
    ("rdk_env", "backend", "refused"),
    [
        ("production", "django.core.cache.backends.locmem.LocMemCache", True),
        ("staging", "django.core.cache.backends.dummy.DummyCache", True),
        ("production", "django.core.cache.backends.redis.RedisCache", False),
        ("local", "django.core.cache.backends.locmem.LocMemCache", False),
    ],
)
def test_staging_and_production_refuse_a_per_process_cache(settings, rdk_env, backend, refused):
    settings.RDK_ENV = rdk_env
    settings.CACHES = {"default": {"BACKEND": backend}}
    errors = ratelimit_cache_check(None)
    assert [error.id for error in errors] == (["rdk.E002"] if refused else [])


def test_a_starting_process_reads_and_validates_the_variable(manage):
    script = "from rdk.ratelimits import rate_for; print(rate_for('signin_ip'), rate_for('cart'))"
    good = manage("shell", "-c", script, env={"RATE_LIMITS": "signin_ip=20/m"})
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip().splitlines()[-1] == "20/m 60/m"
    bad = manage("check", env={"RATE_LIMITS": "login=1/m"})
    assert bad.returncode == 1
    assert "RATE_LIMITS: 'login' is not a limit" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_docs_list_every_limit_as_the_table_says():
    from rdk.ratelimits import limits_markdown
    from tests.conftest import BASE_DIR

    doc = (BASE_DIR / "docs" / "security.md").read_text()
    block = doc.split("<!-- limits:start -->\n", 1)[1].split("\n<!-- limits:end -->", 1)[0]
    assert block == limits_markdown(), (
        "docs/security.md is out of date: paste the output of "
        '`python -c "from rdk.ratelimits import limits_markdown; print(limits_markdown())"`'
    )


@pytest.mark.django_db
def test_an_unreachable_cache_follows_each_limits_policy_and_says_so(client, settings, json_logs):
    """A backend that raises (Django's own Redis cache; RDK's degrades, see
    tests/rdk/test_cache_outage.py): sign-in still counts, per process; the cart
    lets shoppers through."""
    settings.RATE_LIMITS = {"signin_ip": "1/m", "signin_account": "100/m", "cart": "1/m"}
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    statuses = [client.post("/account/login/", {"username": "x"}).status_code for _ in range(3)]
    assert statuses == [200, 429, 429]
    assert [client.post("/cart/add").status_code for _ in range(3)] == [200, 200, 200]
    events = [line["event"] for line in json_logs()]
    assert events.count("ratelimit.cache_unavailable") == 9  # two limits + the cart, 3 times
    assert events.count("ratelimit.exceeded") == 2


REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_limits(settings, monkeypatch):
    """RDK's Redis backend (the shared cache outside local), with its commands counted."""
    import os

    from redis.connection import AbstractConnection

    url = os.environ.get("CACHE_URL", "")
    settings.CACHES = {
        "default": {
            "BACKEND": "rdk.cache.RedisCache",
            "LOCATION": url if url.startswith("redis://") else REDIS_URL,
            "KEY_PREFIX": "rdk-test-limits",
        }
    }
    from django.core.cache import cache

    cache.clear()
    sent = []
    send = AbstractConnection.send_packed_command

    def counted(connection, *args, **kwargs):
        sent.append(1)
        return send(connection, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    yield sent
    cache.clear()


@pytest.mark.django_db
def test_a_count_in_redis_is_one_round_trip_under_django_ratelimits_key(
    client, settings, redis_limits
):
    """django-ratelimit's `get_usage` took three round trips (add, then Django's
    incr, which checks that the key exists first); the count is one pipeline
    now, under the same key, so `limit_reset` still finds it."""
    from rdk.ratelimits import limit_reset

    settings.RATE_LIMITS = {"webhook": "2/m"}
    round_trips = []
    for _ in range(2):  # the first count creates the key, the second adds to it
        before = len(redis_limits)
        assert client.post("/api/stripe/webhook").status_code == 200
        round_trips.append(len(redis_limits) - before)
    assert round_trips == [1, 1]
    assert_429(client.post("/api/stripe/webhook"))
    assert limit_reset("webhook", "ip", "127.0.0.1") is True
    assert client.post("/api/stripe/webhook").status_code == 200
