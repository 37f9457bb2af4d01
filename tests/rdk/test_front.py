"""rdk.front: /healthz and anonymous page-cache hits answered before Django's
middleware chain, exactly as the full stack answers them; everything else
passed on untouched."""

import io
import sys
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler

from rdk import cachetags
from rdk.front import Front
from rdk.switches import switch_set
from tests.catalog.factories import BrandFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db(transaction=True)

REQUEST_ID = "front-test-1"


class Spy:
    """The full stack, counting the requests passed on to it."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


def call(app, path: str, *, method: str = "GET", **headers: str) -> tuple[str, list, bytes]:
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_X_REQUEST_ID": REQUEST_ID,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()},
    }
    answer: dict[str, Any] = {}

    def start_response(status, response_headers, exc_info=None):
        answer.update(status=status, headers=response_headers)

    chunks = app(environ, start_response)
    body = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return answer["status"], answer["headers"], body


def comparable(headers: list) -> list:
    """Headers with the values that depend on the second replaced by a marker."""
    return [(name, "<now>" if name == "Expires" else value) for name, value in headers]


@pytest.fixture
def spy():
    return Spy()


@pytest.fixture
def shop():
    brand = BrandFactory(name="Nike", slug="nike")
    for index in range(2):
        product = ProductFactory(brand=brand, name=f"Dunk {index}")
        VariantFactory(product=product, size=Decimal("9"))


def test_healthz_is_answered_in_front_as_the_stack_answers_it(spy):
    full = call(spy.handler, "/healthz")
    front = call(Front(spy), "/healthz")
    assert spy.calls == 0
    assert front[0] == full[0] == "200 OK"
    assert front[2] == full[2]
    assert comparable(front[1]) == comparable(full[1])
    assert ("X-Request-ID", REQUEST_ID) in front[1]


def test_healthz_with_a_session_goes_to_the_stack(spy):
    call(Front(spy), "/healthz", Cookie="sessionid=abc")
    assert spy.calls == 1


def test_an_anonymous_hit_is_answered_in_front_as_the_stack_answers_it(spy, shop):
    call(spy.handler, "/products")  # the miss stores the page
    full = call(spy.handler, "/products")
    assert ("X-RDK-Cache", "hit") in full[1]
    front = call(Front(spy), "/products")
    assert spy.calls == 0
    assert front == full


def test_a_miss_is_rendered_by_the_stack_and_stored(spy, shop):
    status, headers, _ = call(Front(spy), "/products")
    assert spy.calls == 1
    assert status == "200 OK"
    assert ("X-RDK-Cache", "miss") in headers
    call(Front(spy), "/products")
    assert spy.calls == 1


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("GET", {"Cookie": "sessionid=abc"}),
        ("GET", {"Cookie": "messages=abc"}),
        ("GET", {"If_None_Match": '"etag"'}),
        ("HEAD", {}),
        ("POST", {}),
    ],
)
def test_anything_that_is_not_a_plain_anonymous_get_goes_to_the_stack(spy, shop, method, headers):
    call(spy.handler, "/products")
    call(Front(spy), "/products", method=method, **headers)
    assert spy.calls == 1


def test_a_query_variant_never_gets_another_variants_page(spy, shop):
    call(spy.handler, "/products")
    filtered_full = call(spy.handler, "/products?sort=price_desc")
    filtered_front = call(Front(spy), "/products?sort=price_desc")
    assert filtered_front[2] == filtered_full[2]
    assert filtered_front[2] != call(spy.handler, "/products")[2]
    # Parameters the page does not read share the page's entry, in front too.
    assert call(Front(spy), "/products?utm=1")[2] == call(spy.handler, "/products")[2]


def test_a_closed_maintenance_area_and_forced_dynamic_pages_go_to_the_stack(spy, shop):
    call(spy.handler, "/products")
    switch_set(name="maintenance.catalog", on=True, actor="test")
    status, _, _ = call(Front(spy), "/products")
    assert (status, spy.calls) == ("503 Service Unavailable", 1)
    switch_set(name="maintenance.catalog", on=False, actor="test")
    switch_set(name="cache.force_dynamic", on=True, actor="test")
    _, headers, _ = call(Front(spy), "/products")
    assert ("X-RDK-Cache", "bypass") in headers
    assert spy.calls == 2


def test_a_failure_in_front_leaves_the_request_to_the_stack(spy, shop, monkeypatch):
    call(spy.handler, "/products")

    def broken(request):
        raise RuntimeError("a bug in front")

    monkeypatch.setattr("rdk.front.areas_of", broken)  # the stack reads its own reference
    status, headers, _ = call(Front(spy), "/products")
    assert status == "200 OK"
    assert ("X-RDK-Cache", "hit") in headers
    assert spy.calls == 1


def test_a_request_passed_on_keeps_the_id_minted_in_front(spy, shop):
    seen = []

    def app(environ, start_response):
        seen.append(environ.get("rdk.request_id"))
        return spy(environ, start_response)

    _, headers, _ = call(Front(app), "/products", X_Request_ID="")  # a miss: minted in front
    assert seen[0]
    assert ("X-Request-ID", seen[0]) in headers
    call(Front(app), "/products", method="POST")  # not looked at in front
    assert seen[1] is None


def test_a_warm_hit_asks_the_shared_cache_nothing(spy, shop, monkeypatch):
    monkeypatch.setattr(cachetags, "LOCAL_TTL", 60)  # however slow this machine is
    app = Front(spy)
    call(app, "/products")
    call(app, "/products")
    asked = []
    for name in ("get", "get_many"):
        original = getattr(cache, name)

        def counted(*args, _original=original, **kwargs):
            asked.append(args)
            return _original(*args, **kwargs)

        monkeypatch.setattr(cache, name, counted)
    _, headers, _ = call(app, "/products")
    assert ("X-RDK-Cache", "hit") in headers
    assert asked == []


def test_a_revalidation_is_seen_at_once_by_the_process_that_makes_it(spy, shop):
    app = Front(spy)
    call(app, "/products")
    cachetags._bump(("catalog",), "test", None)
    _, headers, _ = call(app, "/products")
    assert ("X-RDK-Cache", "miss") in headers


def test_a_reused_answer_carries_each_requests_own_id(spy, shop):
    """The front makes a page's answer once per entry and process; the request
    id is the one thing added per request."""
    app = Front(spy)
    call(spy.handler, "/products")
    first = call(app, "/products", X_Request_ID="front-a")
    second = call(app, "/products", X_Request_ID="front-b")
    assert spy.calls == 0
    assert first[2] == second[2]
    assert [v for n, v in first[1] if n == "X-Request-ID"] == ["front-a"]
    assert [v for n, v in second[1] if n == "X-Request-ID"] == ["front-b"]


def test_the_answer_is_kept_apart_for_https_and_plain_requests(settings, shop):
    """The security headers differ by scheme (HSTS only over HTTPS): each
    scheme gets the stack's answer for it, whichever came first."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    spy = Spy()  # Django's middleware read the settings when made
    app = Front(spy)
    call(spy.handler, "/products")
    plain = [call(app, "/products") for _ in range(2)]
    secure = [call(app, "/products", X_Forwarded_Proto="https") for _ in range(2)]
    plain.append(call(app, "/products"))
    assert spy.calls == 0
    assert plain == [call(spy.handler, "/products")] * 3
    assert secure == [call(spy.handler, "/products", X_Forwarded_Proto="https")] * 2
    assert "Strict-Transport-Security" in dict(secure[0][1])
    assert "Strict-Transport-Security" not in dict(plain[0][1])


def test_every_product_page_answered_in_front_is_counted(spy, shop):
    from rdk import funnel
    from rdk.models import FunnelStep

    slug = shop_product_slug()
    app = Front(spy)
    call(spy.handler, f"/products/{slug}")  # the miss: counted by the stack
    funnel.funnel_flush()
    before = funnel._pending.take()
    for _ in range(3):
        assert ("X-RDK-Cache", "hit") in call(app, f"/products/{slug}")[1]
    counted = funnel._pending.take()
    assert spy.calls == 0
    assert not before
    assert sum(n for (_, step), n in counted.items() if step == FunnelStep.PRODUCT_VIEW) == 3


def test_healthz_is_made_once_a_second_and_its_expires_follows_the_clock(spy, monkeypatch):
    import time

    now = [1_900_000_000.2]
    monkeypatch.setattr(time, "time", lambda: now[0])
    app = Front(spy)
    first = call(app, "/healthz")
    now[0] += 0.5
    assert call(app, "/healthz") == first
    now[0] += 1
    later = call(app, "/healthz")
    assert dict(later[1])["Expires"] != dict(first[1])["Expires"]
    assert later == call(spy.handler, "/healthz")
    assert spy.calls == 0


def shop_product_slug() -> str:
    from catalog.models import Product

    return Product.objects.order_by("pk").values_list("slug", flat=True).first()
