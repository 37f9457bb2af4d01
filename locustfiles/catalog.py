"""Anonymous shoppers browsing the catalog: the home page, the product list,
filtered and sorted lists, product pages and the products API.

Product slugs, brands and sizes are discovered once per run from
/api/v1/products. Visitors carry no session cookie, so they are served the
whole-page cache (RDK's ISR); the summary requires p95 < 200 ms for these pages.
"""

from __future__ import annotations

import random

from locust import between, task
from shared import CATALOG, RdkUser, discover

SORTS = ("newest", "price_asc", "price_desc")
SIZES = ("7", "8", "8.5", "9", "9.5", "10", "10.5", "11", "12")


class CatalogBrowser(RdkUser):
    kind = "legit"
    network = 1
    fixed_count = 10
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        discover(self.client)

    def page(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"{name} answered {response.status_code}")

    @task(2)
    def home(self) -> None:
        self.page("/", "/")

    @task(4)
    def product_list(self) -> None:
        self.page("/products", "/products")

    @task(4)
    def filtered(self) -> None:
        params = [f"sort={random.choice(SORTS)}"]
        if CATALOG["brands"] and random.random() < 0.7:
            params.append(f"brand={random.choice(CATALOG['brands'])}")
        if random.random() < 0.5:
            params.append(f"size={random.choice(SIZES)}")
        if random.random() < 0.3:
            params.append("in_stock=on")
        self.page("/products?" + "&".join(params), "/products?[filters]")

    @task(8)
    def product(self) -> None:
        if CATALOG["slugs"]:
            self.page(f"/products/{random.choice(CATALOG['slugs'])}", "/products/[slug]")

    @task(1)
    def api(self) -> None:
        self.page("/api/v1/products", "/api/v1/products")
