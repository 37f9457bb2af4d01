from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from shop.models import Brand, Product, Variant


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def naive_catalog(request: HttpRequest) -> HttpResponse:
    """A catalog page as a first Django tutorial would write it, with the ORM:
    five queries (page, its images, count, brand facet, sizes), no cache."""
    products = (
        Product.objects.filter(is_active=True)
        .select_related("brand")
        .prefetch_related("images")
        .order_by("-release_date", "id")[:24]
    )
    context = {
        "products": products,
        "count": Product.objects.filter(is_active=True).count(),
        "brands": Brand.objects.annotate(n=Count("products")).order_by("name"),
        "sizes": Variant.objects.values_list("size", flat=True).distinct().order_by("size"),
    }
    return render(request, "naive.html", context)
