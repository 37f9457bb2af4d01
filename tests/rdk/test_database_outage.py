"""PostgreSQL down or restarting: RDK under gunicorn answers a branded 503 with
Retry-After (never a 500), keeps serving anonymous pages stored in Redis, and
recovers by itself when the database is back, without a restart.

The database is taken away by stopping a TCP proxy between gunicorn and
PostgreSQL (tests/rdk/servers.py): new connections are refused and open ones
cut, as when the server stops; the machine's PostgreSQL is never touched."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings

from tests.catalog.factories import BrandFactory, ProductFactory, VariantFactory
from tests.rdk import servers

PORT = 9831
PROXY_PORT = 9832

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"),
        reason="needs Redis (make test uses it whenever it is reachable)",
    ),
]


@pytest.fixture
def database_proxy():
    db = settings.DATABASES["default"]
    proxy = servers.TcpProxy(
        PROXY_PORT, (db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))
    )
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def shop_server(database_proxy, tmp_path):
    brand = BrandFactory(name="Nike", slug="nike")
    for slug in ("dunk-low", "air-max"):
        product = ProductFactory(brand=brand, name=slug.title(), slug=slug, price_amount=12000)
        VariantFactory(product=product, size=Decimal("9"))
    env = servers.rdk_environment(database_url=servers.run_database_url(port=PROXY_PORT))
    process = servers.gunicorn(port=PORT, env=env, log=tmp_path / "gunicorn.log")
    yield f"http://127.0.0.1:{PORT}"
    process.stop()


def test_the_shop_answers_503_while_the_database_is_down_and_recovers(shop_server, database_proxy):
    warm = servers.get(shop_server + "/products")
    assert warm[0] == 200
    assert servers.get(shop_server + "/products")[1]["X-RDK-Cache"] == "hit"

    database_proxy.stop()
    cached = servers.get(shop_server + "/products")
    assert (cached[0], cached[1]["X-RDK-Cache"]) == (200, "hit")
    assert cached[2] == warm[2]

    status, headers, body = servers.get(shop_server + "/products/dunk-low")
    assert status == 503
    assert headers["Retry-After"] == str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
    assert "The shop is briefly unavailable" in body
    assert "no-store" in headers["Cache-Control"]
    assert "Traceback" not in body

    status, headers, body = servers.get(shop_server + "/api/v1/products/air-max")
    assert status == 503
    assert headers["Retry-After"]
    assert '"error": "unavailable"' in body

    status, _, body = servers.get(shop_server + "/readyz")
    assert status == 503
    assert '"database": {"ok": false' in body

    database_proxy.start()  # back: the same processes serve again
    assert servers.get(shop_server + "/products/dunk-low")[0] == 200
    assert servers.get(shop_server + "/api/v1/products/air-max")[0] == 200
    assert servers.get(shop_server + "/readyz")[0] == 200
