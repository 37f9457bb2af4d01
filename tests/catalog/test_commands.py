import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Exists, F, OuterRef

from catalog.models import Brand, Product, ProductImage, Variant
from rdk.cachetags import tag_versions
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_seed_demo_is_realistic_deterministic_and_idempotent(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    first = run("seed_demo")
    assert "14 brand(s), 160 product(s), 1726 size(s) and 320 image(s) created" in first
    snapshot = list(Product.objects.order_by("slug").values_list("slug", "price_amount"))
    second = run("seed_demo")
    assert "0 brand(s), 0 product(s), 0 size(s) and 0 image(s) created" in second
    assert list(Product.objects.order_by("slug").values_list("slug", "price_amount")) == snapshot

    assert Brand.objects.count() >= 12
    assert Product.objects.count() >= 150
    sizes = Product.objects.annotate(n=Count("variants")).values_list("n", flat=True)
    assert min(sizes) >= 8
    assert max(sizes) <= 14
    assert Variant.objects.filter(stock_on_hand=0).exists()
    available = Variant.objects.filter(
        product=OuterRef("pk"), stock_on_hand__gt=F("stock_reserved")
    )
    assert Product.objects.exclude(Exists(available)).exists()
    assert len(set(Product.objects.values_list("price_amount", flat=True))) > 10
    assert len(set(Product.objects.values_list("release_date", flat=True))) > 50
    assert ProductImage.objects.count() == 2 * Product.objects.count()
    assert all((tmp_path / image.image.name).exists() for image in ProductImage.objects.all()[:5])


def test_warm_cache_renders_pages_then_finds_them_cached(client):
    ProductFactory.create_batch(3, with_sizes=True)
    output = run("warm_cache")
    assert "warm_cache: 6 page(s)" in output
    assert "6 rendered" in output
    assert "6 already cached" in run("warm_cache", "--quiet")
    assert client.get("/products")["X-RDK-Cache"] == "hit"


def test_revalidate_tag_bumps_versions_and_refuses_bad_tags():
    tag = ProductFactory().cache_tag
    before = tag_versions(["catalog", tag])
    output = run("revalidate_tag", "catalog", tag, "--reason", "runbook 2.1")
    after = tag_versions(["catalog", tag])
    assert after["catalog"] != before["catalog"]
    assert after[tag] != before[tag]
    assert "Revalidated 2 tag(s): runbook 2.1." in output
    with pytest.raises(CommandError, match="Not a cache tag"):
        call_command("revalidate_tag", "not a tag!")


@pytest.mark.parametrize("typo", ["catalgo", "product:999999", "brand:abc", "catalog:1"])
def test_revalidate_tag_refuses_tags_that_name_nothing(typo):
    versions = tag_versions(["catalog"])
    with pytest.raises(CommandError, match=f"Unknown cache tag: {typo} \\(nothing revalidated\\)"):
        call_command("revalidate_tag", "catalog", typo)
    assert tag_versions(["catalog"]) == versions
