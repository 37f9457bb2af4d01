from decimal import Decimal

import pytest
from django.urls import reverse

from tests.catalog.factories import BrandFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    nike = BrandFactory(name="Nike", slug="nike")
    dunk = ProductFactory(
        brand=nike, name="Dunk Low", slug="dunk-low", colorway="Panda", price_amount=11000
    )
    VariantFactory(product=dunk, size=Decimal("9"), stock_on_hand=4)
    VariantFactory(product=dunk, size=Decimal("10"), sold_out=True)
    other = ProductFactory(name="Samba OG", slug="samba-og", price_amount=10000, featured=True)
    VariantFactory(product=other, size=Decimal("8"))
    return {"dunk": dunk, "other": other}


def test_home_shows_new_releases_and_featured(client, shop):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "New releases" in html
    assert "Featured" in html
    assert "Dunk Low" in html
    assert "Samba OG" in html
    assert "Real Deal Kickz" in html  # the hero stays


def test_list_filters_by_brand_and_size(client, shop):
    html = client.get("/products?brand=nike&size=9").content.decode()
    assert "Dunk Low" in html
    assert "Samba OG" not in html
    assert 'value="nike" checked' in html


def test_list_shows_an_empty_state(client, shop):
    response = client.get("/products?q=nothing-like-this")
    assert response.status_code == 200
    assert "No pairs match" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "size=abc",
        "size=9.3",
        "min_price=-1",
        "min_price=500&max_price=100",
        "sort=cheapest",
        "page=zero",
        "brand=Not%20A%20Slug",
        "in_stock=maybe&page=99999999999999999999",
    ],
)
def test_bad_parameters_give_a_400_page_not_a_500(client, shop, query):
    response = client.get(f"/products?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Some filters did not make sense" in html
    assert "Clear all filters" in html


def test_page_past_the_end_is_404_in_the_shop_style(client, shop):
    response = client.get("/products?page=9")
    assert response.status_code == 404
    assert "find that pair" in response.content.decode()


def test_product_page_shows_sizes_with_sold_out_disabled(client, shop):
    dunk = shop["dunk"]
    response = client.get(reverse("catalog:product_detail", kwargs={"slug": dunk.slug}))
    html = response.content.decode()
    assert response.status_code == 200
    assert "$110" in html
    assert "Panda" in html
    assert 'action="/cart/add"' in html
    assert 'name="quantity"' in html
    sold_out = dunk.variants.get(size=Decimal("10"))
    available = dunk.variants.get(size=Decimal("9"))
    assert f'value="{sold_out.pk}" id="size-{sold_out.pk}" disabled' in html
    assert f'value="{available.pk}" id="size-{available.pk}" required' in html
    assert "4 left" in html
    assert "Sold out" in html


def test_unknown_and_inactive_products_are_404(client, shop):
    assert client.get("/products/no-such-pair").status_code == 404
    hidden = ProductFactory(inactive=True)
    assert client.get(hidden.get_absolute_url()).status_code == 404


def test_product_page_warns_while_checkout_is_paused(
    client, shop, django_capture_on_commit_callbacks
):
    from rdk.switches import switch_set

    url = shop["dunk"].get_absolute_url()
    assert b"Checkout is paused" not in client.get(url).content  # now cached whole
    with django_capture_on_commit_callbacks(execute=True):
        switch_set(name="maintenance.checkout", on=True, actor="test", reason="test")
    html = client.get(url).content.decode()
    assert "Checkout is paused for maintenance" in html
    assert '<button type="submit" disabled>Checkout paused</button>' in html
    with django_capture_on_commit_callbacks(execute=True):
        switch_set(name="maintenance.checkout", on=False, actor="test", reason="test")
    html = client.get(url).content.decode()
    assert "Checkout is paused" not in html
    assert '<button type="submit">Add to cart</button>' in html


def test_product_page_explains_the_per_size_limit(client, shop):
    html = client.get(shop["dunk"].get_absolute_url()).content.decode()
    assert 'aria-describedby="quantity-limit"' in html
    assert "Up to 2 pairs per size per order" in html
