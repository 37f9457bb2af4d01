"""Warming the page cache: render the catalog and product pages once, as an
anonymous visitor, through the full request stack, so the next shopper gets a
cached page (the runbook's "Warm ISR cache")."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.test import Client
from django.urls import reverse

from catalog import selectors
from catalog.views import PAGE_SIZE


@dataclass
class Warmed:
    path: str
    status: int
    cache: str
    ms: float


@dataclass
class WarmResult:
    pages: list[Warmed] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[Warmed]:
        return [page for page in self.pages if page.status != 200]


def warm_paths(*, product_limit: int | None = None) -> list[str]:
    slugs = selectors.product_slugs(limit=product_limit)
    list_url = reverse("catalog:product_list")
    pages = max(1, math.ceil(len(selectors.product_slugs()) / PAGE_SIZE))
    paths = [reverse("home"), list_url]
    paths += [f"{list_url}?page={number}" for number in range(2, pages + 1)]
    paths.append(reverse("catalog:api_product_list"))
    paths += [reverse("catalog:product_detail", kwargs={"slug": slug}) for slug in slugs]
    return paths


def cache_warm(
    *, product_limit: int | None = None, progress: Callable[[int, int, Warmed], None] | None = None
) -> WarmResult:
    site = urlsplit(settings.SITE_URL)
    client = Client(HTTP_HOST=site.netloc or "localhost")
    secure = site.scheme == "https" or settings.RDK_ENV != "local"
    result = WarmResult()
    started = time.perf_counter()
    paths = warm_paths(product_limit=product_limit)
    for number, path in enumerate(paths, start=1):
        began = time.perf_counter()
        response = client.get(path, secure=secure)
        page = Warmed(
            path=path,
            status=response.status_code,
            cache=response.get("X-RDK-Cache", "-"),
            ms=(time.perf_counter() - began) * 1000,
        )
        result.pages.append(page)
        if progress:
            progress(number, len(paths), page)
    result.seconds = time.perf_counter() - started
    return result
