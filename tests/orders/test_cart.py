"""Cart pages and rules: caps, stock, bad input, merge on sign-in, same-origin add."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product, Variant
from orders.models import CartItem
from rdk.rls import rls_scope
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.orders.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ORIGIN = {"HTTP_ORIGIN": "http://testserver"}


def add(client, variant_id, quantity=1, **headers):
    return client.post(
        "/cart/add", {"variant": variant_id, "quantity": quantity}, **(headers or ORIGIN)
    )


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_anonymous_visitor_adds_two_sizes_and_sees_them(client):
    product = ProductFactory(with_sizes=2)
    v1, v2 = product.variants.all()
    assert add(client, v1.pk).status_code == 302
    assert add(client, v2.pk, 2).status_code == 302
    response = client.get("/cart")
    assert response.status_code == 200
    assert response.text.count('class="cart-line"') == 2
    assert "$360.00" in response.text
    assert '<span class="cart-count"' in response.text
    assert ">3</span>" in response.text


@pytest.mark.parametrize(
    ("variant", "quantity", "message"),
    [
        ("999999", 1, "not available"),
        ("abc", 1, "Choose a size"),
        ("", 1, "Choose a size"),
        ("-4", 1, "not available"),
        ("99999999999999999999999", 1, "not available"),
        ("VALID", 0, "at least 1"),
        ("VALID", 99, "at most 2"),
        ("VALID", "two", "whole number"),
    ],
)
def test_bad_input_gets_a_clear_message_not_an_error(client, variant, quantity, message):
    valid = VariantFactory()
    response = add(client, valid.pk if variant == "VALID" else variant, quantity)
    assert response.status_code == 302
    assert any(message in text for text in texts(response))
    assert client.session.get("cart") in (None, {})


def test_cap_per_size_counts_what_is_already_in_the_cart(client):
    variant = VariantFactory(product=ProductFactory(max_per_size=1))
    add(client, variant.pk)
    response = add(client, variant.pk)
    assert "at most 1 pair of" in texts(response)[-1]


def test_sold_out_and_inactive_sizes_cannot_be_added(client):
    response = add(client, VariantFactory(sold_out=True).pk)
    assert "sold out" in texts(response)[-1]
    response = add(client, VariantFactory(product=ProductFactory(inactive=True)).pk)
    assert "not available" in texts(response)[-1]


def test_cart_add_refuses_cross_origin_and_headerless_posts(client):
    variant = VariantFactory()
    assert add(client, variant.pk, HTTP_ORIGIN="https://evil.example").status_code == 403
    assert add(client, variant.pk, HTTP_REFERER="https://evil.example/x").status_code == 403
    assert client.post("/cart/add", {"variant": variant.pk}).status_code == 403
    assert add(client, variant.pk, HTTP_REFERER="http://testserver/products/x").status_code == 302


def test_cart_add_needs_no_csrf_token_but_other_cart_forms_do():
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    variant = VariantFactory()
    assert add(client, variant.pk).status_code == 302
    assert client.post("/cart/update", {"variant": variant.pk, "quantity": 2}).status_code == 403


def test_update_and_remove(client):
    variant = VariantFactory()
    add(client, variant.pk)
    response = client.post("/cart/update", {"variant": variant.pk, "quantity": 2})
    assert client.session["cart"][str(variant.pk)][0] == 2
    response = client.post("/cart/update", {"variant": variant.pk, "quantity": 0})
    assert "at least 1" in texts(response)[-1]
    response = client.post("/cart/remove", {"variant": variant.pk})
    assert client.session["cart"] == {}
    response = client.post("/cart/remove", {"variant": variant.pk})
    assert "not in your cart" in texts(response)[-1]


def test_price_and_stock_changes_are_shown_when_the_cart_is_viewed(client):
    variant = VariantFactory(stock_on_hand=3)
    add(client, variant.pk, 2)
    Product.objects.filter(pk=variant.product_id).update(price_amount=15000)
    Variant.objects.filter(pk=variant.pk).update(stock_on_hand=1)
    response = client.get("/cart")
    shown = texts(response)
    assert any("price changed from 120.00 USD to 150.00 USD" in t for t in shown)
    assert any("only 1 available" in t for t in shown)
    assert client.session["cart"][str(variant.pk)] == [1, 15000]
    assert texts(client.get("/cart")) == []  # each change is told once


def test_sign_in_merges_the_session_cart_by_the_rules(client):
    user = UserFactory()
    capped = VariantFactory(stock_on_hand=5)
    fresh = VariantFactory()
    gone = VariantFactory(stock_on_hand=1)
    with rls_scope(user=user):
        from orders.services.cart import DbCartStore

        DbCartStore(user).put(capped.pk, 1, 12000)
    add(client, capped.pk, 2)
    add(client, fresh.pk, 1)
    add(client, gone.pk, 1)
    Variant.objects.filter(pk=gone.pk).update(stock_on_hand=0)
    response = client.post("/account/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    shown = texts(response)
    assert any("kept 2 (of 3) because of the limit per size" in t for t in shown)
    assert any("added from your earlier cart" in t for t in shown)
    assert any("sold out and was dropped" in t for t in shown)
    with rls_scope(user=user):
        assert dict(CartItem.objects.values_list("variant_id", "quantity")) == {
            capped.pk: 2,
            fresh.pk: 1,
        }
    assert "cart" not in client.session


def test_pages_without_a_session_stay_session_free(client):
    response = client.get("/")
    assert "sessionid" not in response.cookies
    assert ">0</span>" in response.text
    # Shareable by caches; Vary: Cookie tells them a visitor with a session
    # gets a page of their own (rdk.pagecache).
    assert "public" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]


def test_a_refused_add_returns_to_the_product_page_when_asked(client):
    variant = VariantFactory(sold_out=True)
    response = client.post(
        "/cart/add", {"variant": variant.pk, "next": "/products/runner-1"}, **ORIGIN
    )
    assert response["Location"] == "/products/runner-1"
    response = client.post(
        "/cart/add", {"variant": variant.pk, "next": "https://evil.example/"}, **ORIGIN
    )
    assert response["Location"] == "/cart"


def test_cart_page_queries_do_not_grow_with_lines(
    client, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    user = UserFactory()
    client.force_login(user)
    variants = list(ProductFactory(with_sizes=6).variants.all())
    add(client, variants[0].pk)
    with CaptureQueriesContext(connection) as one_line:
        client.get("/cart")
    baseline = len(one_line)  # read now: the next request resets the query log
    # Committed, as each request's changes are: the cart page is rendered afresh.
    with django_capture_on_commit_callbacks(execute=True):
        for variant in variants[1:]:
            add(client, variant.pk)
    with django_assert_max_num_queries(baseline):
        response = client.get("/cart")
    assert response.text.count('class="cart-line"') == 6


def test_cart_page_of_sizes_nobody_holds_reads_no_reservation(
    client, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """Lines and sizes in one query, no look for expired holds where no size
    holds any, and no savepoint inside the request's transaction; once
    rendered, the page is served without a query until the cart changes."""
    client.force_login(UserFactory())
    variant = VariantFactory(stock_on_hand=5)
    client.get("/cart")  # the session's activity record
    with django_capture_on_commit_callbacks(execute=True):  # committed, as in a request
        add(client, variant.pk)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/cart")
    assert 'class="cart-line"' in response.text
    statements = [q["sql"] for q in queries]
    assert not [sql for sql in statements if "orders_reservation" in sql]
    # Only the page's scope opens one (a savepoint here, inside the test's
    # transaction); refreshing the cart adds none.
    assert [sql.split()[0] for sql in statements if "SAVEPOINT" in sql] == ["SAVEPOINT", "RELEASE"]
    # The scope's savepoint and set_config, the cart's products (their cache
    # tags, read before the page: orders/pages.py), the lines with their
    # sizes, the pairs held in recent orders, the orders awaiting payment,
    # the thumbnails, and the scope's restore and release (nested in the
    # test's transaction; a request opens and commits its own). It was 15,
    # then 8 on every view; now 9 when the cart changed and none otherwise.
    assert len(statements) <= 9, statements
    with django_assert_max_num_queries(0):
        assert 'class="cart-line"' in client.get("/cart").text


def test_the_header_count_is_read_with_the_user_not_on_its_own(
    client, django_capture_on_commit_callbacks
):
    """One cache round trip brings the user, the sign-out epochs and the pair
    count; the count still follows a change at once."""
    client.force_login(UserFactory())
    variant = VariantFactory(stock_on_hand=5)
    add(client, variant.pk)
    client.get("/account/orders")  # counts the cart and caches the count
    with mock.patch.object(cache, "get", wraps=cache.get) as single_reads:
        page = client.get("/account/orders").text
    assert 'aria-label="1 pair in cart"' in page
    assert not [c for c in single_reads.call_args_list if str(c.args[0]).startswith("cart-count:")]
    with django_capture_on_commit_callbacks(execute=True):  # drops the cached count
        add(client, VariantFactory(stock_on_hand=5).pk)
    assert 'aria-label="2 pairs in cart"' in client.get("/account/orders").text


def test_a_visitor_without_a_session_gets_the_cart_page_without_a_query(
    client, django_assert_num_queries
):
    """No session cookie, no cart: no row-security scope is opened for it (the
    cart view opens its own, RowSecurityMiddleware none for such a request)."""
    client.get("/cart")
    with django_assert_num_queries(0):
        assert "Your cart is empty" in client.get("/cart").text
