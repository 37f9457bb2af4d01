from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def _rows(sql: str, params: list | None = None) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def naive_catalog(request: HttpRequest) -> HttpResponse:
    """A catalog page as a first Django tutorial would write it: five queries
    (page, count, brand facet, size facet, images), no cache."""
    products = _rows(
        "SELECT p.id, p.name, p.slug, p.colorway, p.price_amount, p.currency, b.name AS brand"
        " FROM catalog_product p JOIN catalog_brand b ON b.id = p.brand_id"
        " WHERE p.is_active ORDER BY p.release_date DESC, p.id LIMIT 24"
    )
    count = _rows("SELECT count(*) AS n FROM catalog_product WHERE is_active")[0]["n"]
    brands = _rows(
        "SELECT b.name, count(p.id) AS n FROM catalog_brand b"
        " JOIN catalog_product p ON p.brand_id = b.id GROUP BY b.name ORDER BY b.name"
    )
    sizes = _rows("SELECT DISTINCT size FROM catalog_variant ORDER BY size")
    images = {
        row["product_id"]: row["image"]
        for row in _rows(
            "SELECT DISTINCT ON (product_id) product_id, image FROM catalog_productimage"
            " WHERE product_id = ANY(%s) ORDER BY product_id, position",
            [[p["id"] for p in products]],
        )
    }
    for product in products:
        product["image"] = images.get(product["id"], "")
    context = {"products": products, "count": count, "brands": brands, "sizes": sizes}
    return render(request, "naive.html", context)
