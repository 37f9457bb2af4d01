from decimal import Decimal

import pytest

from tests.catalog.factories import BrandFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    nike = BrandFactory(name="Nike", slug="nike")
    dunk = ProductFactory(brand=nike, name="Dunk Low", slug="dunk-low", price_amount=11000)
    VariantFactory(product=dunk, size=Decimal("9"), stock_on_hand=2, stock_reserved=1)
    VariantFactory(product=dunk, size=Decimal("10"), sold_out=True)
    samba = ProductFactory(name="Samba OG", slug="samba-og", price_amount=10000)
    VariantFactory(product=samba, size=Decimal("8"))
    ProductFactory(slug="hidden", inactive=True)
    return {"dunk": dunk, "samba": samba}


def names(response) -> list[str]:
    return [item["name"] for item in response.json()["results"]]


def test_list_is_paginated_and_hides_inactive_products(client, shop):
    response = client.get("/api/v1/products")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert {"count", "next", "previous", "results"} <= set(body)
    first = body["results"][0]
    assert first["url"].startswith("/products/")
    assert set(first) >= {"slug", "name", "brand", "price_amount", "currency", "in_stock"}
    assert names(client.get("/api/v1/products?page_size=1"))
    assert client.get("/api/v1/products?page_size=1").json()["next"]


def test_list_filters_searches_and_orders(client, shop):
    assert names(client.get("/api/v1/products?brand=nike")) == ["Dunk Low"]
    assert names(client.get("/api/v1/products?size=8")) == ["Samba OG"]
    assert names(client.get("/api/v1/products?search=samba")) == ["Samba OG"]
    assert names(client.get("/api/v1/products?ordering=price")) == ["Samba OG", "Dunk Low"]
    assert names(client.get("/api/v1/products?ordering=-price")) == ["Dunk Low", "Samba OG"]
    assert names(client.get("/api/v1/products?min_price=10500")) == ["Dunk Low"]
    assert names(client.get("/api/v1/products?size=10&in_stock=true")) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("size=big", "size"),
        ("size=9.3", "size"),
        ("min_price=-5", "min_price"),
        ("min_price=900&max_price=100", "max_price"),
        ("ordering=cheapest", "ordering"),
        ("in_stock=maybe", "in_stock"),
        ("page=0", "page"),
        ("page_size=1000", "page_size"),
        ("brand=Not%20A%20Slug", "brand"),
    ],
)
def test_malformed_parameters_give_400_json_naming_the_field(client, shop, query, field):
    response = client.get(f"/api/v1/products?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert field in body["fields"]


def test_detail_has_variants_with_stock_state(client, shop):
    body = client.get("/api/v1/products/dunk-low").json()
    assert body["name"] == "Dunk Low"
    assert body["in_stock"] is True
    sizes = {variant["size_label"]: variant for variant in body["variants"]}
    assert sizes["US 9"]["available"] == 1
    assert sizes["US 9"]["sold_out"] is False
    assert sizes["US 10"]["sold_out"] is True


def test_unknown_product_is_404_json(client, shop):
    response = client.get("/api/v1/products/hidden")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "No such product.", "fields": {}}


def test_api_is_read_only(client, shop):
    assert client.post("/api/v1/products", {}).status_code in (403, 405)


def test_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/products" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html
    assert "unpkg" not in html


def test_unroutable_api_paths_answer_json_404(client):
    response = client.get("/api/v1/products/%C2%84")
    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "message": "No such API resource.",
        "fields": {},
    }
    assert "<!doctype html>" in client.get("/no-such-page").content.decode()


def test_list_field_errors_name_the_item(client):
    response = client.get("/api/v1/products?brand=nike&brand=")
    assert response.status_code == 400
    assert response.json()["fields"] == {"brand": ["Item 2: This field may not be blank."]}
