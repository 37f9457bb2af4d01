"""Every shopper page (account, cart, checkout, orders) is sent
`Cache-Control: private, no-store` (docs/runbook.md, caching behaviour). The
pages come from the orders URLconf, so a new one cannot be forgotten."""

from __future__ import annotations

import pytest
from django.urls import get_resolver, reverse

from tests.orders.factories import UserFactory

pytestmark = pytest.mark.django_db

SAMPLES = {"public_id": "00000000-0000-0000-0000-000000000000", "uidb64": "MQ", "token": "x-y"}


def _orders_urls() -> list[str]:
    resolver = get_resolver().namespace_dict["orders"][1]
    urls = []
    for name in {p.name for p in resolver.url_patterns}:
        params = resolver.reverse_dict.getlist(name)[0][0][0][1]
        urls.append(reverse(f"orders:{name}", kwargs={p: SAMPLES[p] for p in params}))
    return sorted(urls)


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "shopper"])
def test_every_personal_page_is_private_and_not_stored(client, signed_in):
    if signed_in:
        client.force_login(UserFactory())
    urls = _orders_urls()
    assert {"/cart", "/account/", "/checkout"} <= set(urls)
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            control = {part.strip() for part in response.get("Cache-Control", "").split(",")}
            assert {"private", "no-store"} <= control, (method, url, response.status_code)
