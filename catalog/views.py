"""Storefront pages. Anonymous visitors get whole pages from the shared cache
(rdk.pagecache), signed-in shoppers the same page with their own header
filled in; with caching forced off, a fresh render whose expensive fragments
are still cached under tags."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from catalog import selectors
from catalog.forms import SORT_CHOICES, ProductFilterForm, filter_chips
from catalog.search import search_suggestion
from rdk.funnel import product_viewed
from rdk.pagecache import is_shareable, page_cache
from rdk.switches import CHECKOUT_MAINTENANCE_TAG

PAGE_SIZE = 24


@page_cache(["catalog"], name="home")
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "catalog/home.html",
        {
            "new_releases": selectors.product_new_releases(limit=8),
            "featured": selectors.product_featured(limit=4),
        },
    )


@page_cache(["catalog"], name="product_list", params=ProductFilterForm.base_fields)
def product_list(request: HttpRequest) -> HttpResponse:
    form = ProductFilterForm(request.GET)
    context = {"form": form, "sort_choices": SORT_CHOICES}
    if not form.is_valid():
        context["facets"] = selectors.catalog_facets()
        return render(request, "catalog/product_list.html", context, status=400)
    filters = form.filters()
    number = form.cleaned_data.get("page") or 1
    page = selectors.product_card_page(filters=filters, number=number, per_page=PAGE_SIZE)
    if page is None:
        raise Http404("No such page.")
    facets = selectors.catalog_facets_for(filters=filters)
    brand_names = {slug: name for slug, name, _ in facets.brands}
    suggestion = None
    if filters.search and not page.count:
        suggestion = search_suggestion(filters.search)
    context.update(
        facets=facets,
        filters=filters,
        page=page,
        products=page.cards,
        selected_brands=set(filters.brands),
        chips=filter_chips(request.GET, brand_names=brand_names),
        suggestion=suggestion,
    )
    return render(request, "catalog/product_list.html", context)


@page_cache(
    lambda slug: [*selectors.product_page_tags(slug=slug), CHECKOUT_MAINTENANCE_TAG],
    name="product_detail",
    on_serve=product_viewed,  # cache hits too: rdk/funnel.py
)
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = selectors.product_get(slug=slug)
    variants = list(product.variants.all())
    today = timezone.now().date()
    context = {
        "product": product,
        "images": list(product.images.all()),
        "variants": variants,
        "sold_out": not any(not variant.is_sold_out for variant in variants),
        "released": product.release_date <= today,
        "quantities": range(1, product.max_per_size + 1),
        "shareable": is_shareable(request),
    }
    return render(request, "catalog/product_detail.html", context)
