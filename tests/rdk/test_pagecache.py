"""rdk.pagecache: canonical keys, a bound on query variants, and signed-in
pages served from a shared shell with per-visitor slots that never carry one
visitor's data to another."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.middleware.csrf import get_token
from django.test import Client

from opsadmin.services.sessions import USER_PREFIX
from orders.services.cart import DbCartStore
from rdk import pagecache
from rdk.rls import rls_scope
from tests.catalog.factories import BrandFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def stored_keys() -> set[str]:
    """Every key in the shared cache (Redis under make test, else local memory)."""
    backend = cache._cache
    if hasattr(backend, "get_client"):
        return {key.decode() for key in backend.get_client().keys("*")}
    return set(backend._cache)


def _shared(key) -> bool:
    """Not a key of one user's own: the user's row read with their session
    (opsadmin.services.sessions) is theirs, under their id."""
    name = key.decode() if isinstance(key, bytes) else key
    return f":{USER_PREFIX}" not in name


def stored_values() -> list[bytes]:
    """Every value in the shared cache except one user's own row."""
    backend = cache._cache
    if hasattr(backend, "get_client"):
        client = backend.get_client()
        return [client.get(key) or b"" for key in client.keys("*") if _shared(key)]
    return [repr(value).encode() for key, value in backend._cache.items() if _shared(key)]


@pytest.fixture
def shop():
    brand = BrandFactory(name="Nike", slug="nike")
    products = []
    for index in range(3):
        product = ProductFactory(brand=brand, name=f"Dunk {index}", price_amount=10000 + index)
        VariantFactory(product=product, size=Decimal("9"))
        products.append(product)
    return products


def test_junk_parameters_add_no_keys(client, shop):
    assert client.get("/products")["X-RDK-Cache"] == "miss"
    before = stored_keys()
    for n in range(100):
        response = client.get(f"/products?utm={n}")
        assert response.status_code == 200
        assert response["X-RDK-Cache"] == "hit"
    assert stored_keys() == before


def test_parameter_order_and_unknown_ones_share_one_entry(client, shop):
    first = client.get("/products?sort=price_asc&brand=nike")
    assert first["X-RDK-Cache"] == "miss"
    again = client.get("/products?utm_source=mail&brand=nike&sort=price_asc")
    assert again["X-RDK-Cache"] == "hit"
    assert again.content == first.content
    # A parameter the page reads is a different page.
    assert client.get("/products?sort=price_desc&brand=nike")["X-RDK-Cache"] == "miss"


def test_pagination_links_carry_no_junk_into_the_shared_page(client):
    brand = BrandFactory(slug="adidas")
    for index in range(30):  # two pages of 24
        ProductFactory(brand=brand, name=f"Samba {index}")
    page = client.get("/products?utm_campaign=spring&page=1").content.decode()
    assert "page=2" in page
    assert "utm_campaign" not in page


def test_a_page_stores_a_bounded_number_of_query_variants(client, shop, settings, monkeypatch):
    settings.PAGE_CACHE_MAX_VARIANTS = 3
    written = []
    store = cache.set

    def counting_set(key, value, *args, **kwargs):
        if isinstance(value, dict) and "etag" in value:
            written.append(key)
        return store(key, value, *args, **kwargs)

    monkeypatch.setattr(cache, "set", counting_set)
    for n in range(10):
        assert client.get(f"/products?q=dunk{n}").status_code == 200
    # Three variants stored; the other seven were served, not kept.
    assert len(written) == 3
    assert client.get("/products?q=dunk0")["X-RDK-Cache"] == "hit"
    assert client.get("/products?q=dunk9")["X-RDK-Cache"] == "miss"
    assert client.get("/products")["X-RDK-Cache"] == "miss"  # the page itself is always kept
    assert client.get("/products")["X-RDK-Cache"] == "hit"


@pytest.fixture
def shoppers(django_user_model, shop):
    ana = django_user_model.objects.create_user(
        "ana@example.com", email="ana@example.com", password="pw-123456789"
    )
    bo = django_user_model.objects.create_user(
        "bo@example.com", email="bo@example.com", password="pw-123456789"
    )
    with rls_scope(user=ana):
        DbCartStore(ana).put(shop[0].variants.first().pk, 2, shop[0].price_amount)
    clients = {}
    for user in (ana, bo):
        clients[user.email] = Client()
        clients[user.email].force_login(user)
    return clients


@pytest.mark.parametrize("path", ["/products", "/products?brand=nike", "product", "/"])
def test_signed_in_pages_share_the_shell_never_the_shopper(shoppers, shop, client, path):
    if path == "product":
        path = shop[0].get_absolute_url()
    ana, bo = shoppers["ana@example.com"], shoppers["bo@example.com"]
    first = ana.get(path)
    assert first.status_code == 200
    assert first["Cache-Control"] == "private, no-store"
    assert 'aria-label="2 pairs in cart"' in first.content.decode()
    assert "Orders</a>" in first.content.decode()

    second = bo.get(path)
    page = second.content.decode()
    assert second["Cache-Control"] == "private, no-store"
    assert 'aria-label="0 pairs in cart"' in page
    assert "Orders</a>" in page
    assert "ana@example.com" not in page
    # The anonymous page still says "Sign in": the shell is not the public page.
    assert "Sign in</a>" in client.get(path).content.decode()

    # Nothing personal was stored under any shared key: no address, no session,
    # no CSRF token, no cart count.
    secrets = [b"ana@example.com", b"bo@example.com"]
    secrets += [c.cookies[settings.SESSION_COOKIE_NAME].value.encode() for c in (ana, bo)]
    secrets += [
        c.cookies[settings.CSRF_COOKIE_NAME].value.encode()
        for c in (ana, bo)
        if settings.CSRF_COOKIE_NAME in c.cookies
    ]
    for value in stored_values():
        for secret in secrets:
            assert secret not in value
        assert b"2 pairs in cart" not in value


def test_signed_in_product_page_gets_its_own_csrf_token_per_shopper(shoppers, shop):
    path = shop[0].get_absolute_url()
    pages = [shoppers[email].get(path).content.decode() for email in shoppers]
    tokens = [page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0] for page in pages]
    assert tokens[0] != tokens[1]


def test_flash_messages_reach_only_their_shopper(shoppers, shop):
    ana, bo = shoppers["ana@example.com"], shoppers["bo@example.com"]
    variant = shop[1].variants.first()
    origin = {"HTTP_ORIGIN": "http://testserver"}
    assert (
        ana.post("/cart/add", {"variant": variant.pk, "quantity": 1}, **origin).status_code == 302
    )
    ana_page = ana.get("/products").content.decode()
    assert "message-success" in ana_page
    assert "message-success" not in bo.get("/products").content.decode()
    assert "message-success" not in ana.get("/products").content.decode()  # shown once


def test_a_shell_that_touches_the_csrf_token_is_not_stored(shoppers, shop, monkeypatch):
    stored = []
    monkeypatch.setattr(pagecache.PageSpec, "store", lambda self, *a, **k: stored.append(a))
    original = pagecache.PageSpec._render_shell

    def touching(self, request, view, args, kwargs):
        # A page that renders the token outside a slot (a template mistake).
        def view_touching(request, *a, **k):
            get_token(request)
            return view(request, *a, **k)

        return original(self, request, view_touching, args, kwargs)

    monkeypatch.setattr(pagecache.PageSpec, "_render_shell", touching)
    response = shoppers["ana@example.com"].get("/products")
    assert response.status_code == 200
    assert 'aria-label="2 pairs in cart"' in response.content.decode()
    assert stored == []


def test_the_header_count_follows_the_cart_at_once(shoppers, shop):
    ana = shoppers["ana@example.com"]
    assert 'aria-label="2 pairs in cart"' in ana.get("/products").content.decode()
    origin = {"HTTP_ORIGIN": "http://testserver"}
    ana.post("/cart/add", {"variant": shop[1].variants.first().pk, "quantity": 1}, **origin)
    assert 'aria-label="3 pairs in cart"' in ana.get("/products").content.decode()


def test_a_warm_signed_in_catalog_page_asks_postgresql_nothing(
    shoppers, shop, django_assert_num_queries
):
    ana = shoppers["ana@example.com"]
    for path in ("/products", shop[0].get_absolute_url()):
        ana.get(path)  # the shell, the session's activity record, the cart count
        # None: the user comes from the cache with the sign-out epochs
        # (opsadmin.backends), and no scoped transaction is opened.
        with django_assert_num_queries(0):
            page = ana.get(path).content.decode()
        assert 'aria-label="2 pairs in cart"' in page
