"""The catalog's ISR: whole anonymous pages, tagged fragments, HTTP caching,
revalidation on every write path, the force-dynamic switch."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from rdk.cachetags import tag_versions, tagged_key
from rdk.switches import switch_set
from tests.catalog.factories import BrandFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def shop():
    brand = BrandFactory(name="Nike", slug="nike")
    products = []
    for index in range(6):
        product = ProductFactory(brand=brand, name=f"Dunk {index}", price_amount=10000 + index)
        VariantFactory(product=product, size=Decimal("9"))
        VariantFactory(product=product, size=Decimal("10"), sold_out=True)
        products.append(product)
    return products


def card_key(product):
    return tagged_key("fragment:card", [product.cache_tag, product.brand.cache_tag], product.pk)


def test_anonymous_pages_are_public_with_etag_and_304(client, shop):
    first = client.get("/products")
    assert first["X-RDK-Cache"] == "miss"
    assert first["Cache-Control"].startswith("public")
    assert "s-maxage=" in first["Cache-Control"]
    assert "stale-while-revalidate=" in first["Cache-Control"]
    assert "Cookie" in first["Vary"]
    etag = first["ETag"]
    second = client.get("/products")
    assert second["X-RDK-Cache"] == "hit"
    assert second["ETag"] == etag
    assert second.content == first.content
    # Served before the inner middleware, yet with the headers they set.
    assert second["X-Frame-Options"] == first["X-Frame-Options"] == "DENY"
    assert second["X-Content-Type-Options"] == "nosniff"
    not_modified = client.get("/products", headers={"if-none-match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert client.get("/products", headers={"if-none-match": '"other"'}).status_code == 200


def test_a_miss_writes_the_page_to_the_shared_cache_once(client, shop, monkeypatch):
    written = []
    store = cache.set

    def counting_set(key, value, *args, **kwargs):
        if isinstance(value, dict) and "etag" in value:
            written.append(value)
        return store(key, value, *args, **kwargs)

    monkeypatch.setattr(cache, "set", counting_set)
    assert client.get("/products")["X-RDK-Cache"] == "miss"
    # Once, already with the headers the inner middleware set on the way out.
    assert len(written) == 1
    assert written[0]["headers"]["X-Frame-Options"] == "DENY"
    assert written[0]["headers"]["Content-Type"].startswith("text/html")
    assert client.get("/products")["X-RDK-Cache"] == "hit"
    assert len(written) == 1


def test_warm_catalog_and_product_pages_run_no_sql(client, shop, django_assert_num_queries):
    paths = ["/", "/products", "/products?brand=nike&size=9", shop[0].get_absolute_url()]
    paths.append(reverse("catalog:api_product_list"))
    for path in paths:
        assert client.get(path).status_code == 200
    for path in paths:
        with django_assert_num_queries(0):
            response = client.get(path)
        assert response["X-RDK-Cache"] == "hit", path


def test_force_dynamic_bypasses_caches_within_four_queries(
    client, shop, django_assert_max_num_queries
):
    client.get("/products")
    switch_set(name="cache.force_dynamic", on=True, actor="test")
    client.get("/products")  # the switch state is read once, then kept
    # Facets (brands, sizes) and one query for the page of cards with its total.
    with django_assert_max_num_queries(3):
        response = client.get("/products")
    assert response["X-RDK-Cache"] == "bypass"
    assert "public" not in response["Cache-Control"]
    assert "Dunk 0" in response.content.decode()
    # The product, its images, its sizes.
    with django_assert_max_num_queries(3):
        response = client.get(shop[0].get_absolute_url())
    assert response["X-RDK-Cache"] == "bypass"
    assert "Dunk 0" in response.content.decode()


def test_signed_in_shoppers_never_share_a_cached_page(client, shop, django_user_model):
    product_url = shop[0].get_absolute_url()
    anonymous = client.get(product_url)
    assert anonymous["X-RDK-Cache"] == "miss"
    assert "csrfmiddlewaretoken" not in anonymous.content.decode()

    shopper = Client()
    shopper.force_login(django_user_model.objects.create_user("ana", password="pw-123456789"))
    for _ in range(2):
        response = shopper.get(product_url)
        assert response["Cache-Control"] == "private, no-store"
        assert "X-RDK-Cache" not in response
        assert "csrfmiddlewaretoken" in response.content.decode()

    # A signed-in render is never stored for others either.
    cache.clear()
    shopper.get("/products")
    assert client.get("/products")["X-RDK-Cache"] == "miss"


def test_admin_edit_shows_at_once_and_leaves_unrelated_fragments_cached(client, admin_client, shop):
    edited, unrelated = shop[0], shop[1]
    product_url = edited.get_absolute_url()
    api_url = reverse("catalog:api_product_detail", kwargs={"slug": edited.slug})
    list_api = reverse("catalog:api_product_list")
    for path in (product_url, "/products", api_url, list_api):
        assert client.get(path).status_code == 200
    unrelated_key = card_key(unrelated)
    unrelated_card = cache.get(unrelated_key)
    assert unrelated_card is not None
    assert "Dunk 1" in unrelated_card
    assert client.get(product_url)["X-RDK-Cache"] == "hit"

    variants = list(edited.variants.order_by("size"))
    form = {
        "brand": edited.brand_id,
        "name": "Dunk Zero Remastered",
        "slug": edited.slug,
        "colorway": edited.colorway,
        "style_code": edited.style_code,
        "description": edited.description,
        "price_amount": "155.00",  # typed in dollars, stored as cents
        "currency": "USD",
        "max_per_size": 2,
        "release_date": edited.release_date.isoformat(),
        "is_active": "on",
        "variants-TOTAL_FORMS": len(variants),
        "variants-INITIAL_FORMS": len(variants),
        "variants-MIN_NUM_FORMS": 0,
        "variants-MAX_NUM_FORMS": 1000,
        "images-TOTAL_FORMS": 0,
        "images-INITIAL_FORMS": 0,
        "images-MIN_NUM_FORMS": 0,
        "images-MAX_NUM_FORMS": 1000,
    }
    for index, variant in enumerate(variants):
        form.update(
            {
                f"variants-{index}-id": variant.pk,
                f"variants-{index}-product": edited.pk,
                f"variants-{index}-size_scheme": "US",
                f"variants-{index}-size": str(variant.size),
                f"variants-{index}-sku": variant.sku,
                f"variants-{index}-price_override_amount": "",
                f"variants-{index}-stock_on_hand": 0,  # every size sold out now
            }
        )
    response = admin_client.post(reverse("admin:catalog_product_change", args=[edited.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]

    page = client.get(product_url)
    assert page["X-RDK-Cache"] == "miss"
    html = page.content.decode()
    assert "Dunk Zero Remastered" in html
    assert "$155" in html
    assert '<button type="submit" disabled>Sold out</button>' in html
    listing = client.get("/products").content.decode()
    assert "Dunk Zero Remastered" in listing
    assert "$155" in listing
    detail = client.get(api_url).json()
    assert detail["price_amount"] == 15500
    assert detail["in_stock"] is False
    assert detail["name"] == "Dunk Zero Remastered"
    names = [item["name"] for item in client.get(list_api).json()["results"]]
    assert "Dunk Zero Remastered" in names
    # The unrelated product's card fragment was not revalidated.
    assert card_key(unrelated) == unrelated_key
    assert cache.get(unrelated_key) == unrelated_card


def test_admin_delete_and_brand_edit_revalidate_their_tags(admin_client, shop):
    product = shop[0]
    tags = [product.cache_tag, product.brand.cache_tag, "catalog", shop[1].cache_tag]
    before = tag_versions(tags)
    admin_client.post(
        reverse("admin:catalog_brand_change", args=[product.brand_id]),
        {"name": "Nike Inc", "slug": "nike", "description": ""},
    )
    middle = tag_versions(tags)
    assert middle[product.brand.cache_tag] != before[product.brand.cache_tag]
    assert middle[product.cache_tag] == before[product.cache_tag]
    admin_client.post(reverse("admin:catalog_product_delete", args=[product.pk]), {"post": "yes"})
    after = tag_versions(tags)
    assert after[product.cache_tag] != middle[product.cache_tag]
    assert after["catalog"] != middle["catalog"]
    assert after[shop[1].cache_tag] == before[shop[1].cache_tag]


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.postgres
def test_revalidation_in_another_process_is_seen_here(client, shop):
    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        pytest.skip("needs the shared Redis cache; this run uses local memory")
    product = shop[0]
    url = product.get_absolute_url()
    assert "$100" in client.get(url).content.decode()
    assert client.get(url)["X-RDK-Cache"] == "hit"
    script = (
        "import sys, django; django.setup();"
        "from catalog.services import product_price_set;"
        "product_price_set(product_id=int(sys.argv[1]), price_amount=int(sys.argv[2]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rdk.settings",
        "DATABASE_URL": _database_url(),
        "CACHE_URL": os.environ.get("CACHE_URL", ""),
        "RDK_LOG_LEVEL": "warning",
    }
    done = subprocess.run(
        [sys.executable, "-c", script, str(product.pk), "23400"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    response = client.get(url)
    assert response["X-RDK-Cache"] == "miss"
    assert "$234" in response.content.decode()
