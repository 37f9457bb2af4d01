"""The shop's own endpoints answer 429 with Retry-After once their limit is spent
(the limit mechanism itself is tested in tests/rdk/test_ratelimits.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

# (url name, limit, form data); each limit is lowered to 2 per minute.
ENDPOINTS = [
    ("orders:login", "signin_ip", {"username": "nobody@example.com", "password": "wrong"}),
    ("orders:signup", "signup_ip", {"email": "", "password1": "", "password2": ""}),
    ("orders:password_reset", "password_reset_ip", {"email": "nobody@example.com"}),
    ("orders:cart_add", "cart", {"variant": "999999", "quantity": "1"}),
    ("orders:checkout", "checkout", {}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("url_name", "limit", "data"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_endpoint_answers_429_after_its_limit(client, settings, url_name, limit, data):
    settings.RATE_LIMITS = {limit: "2/m"}
    url = reverse(url_name)
    origin = {"HTTP_ORIGIN": "http://testserver"}
    statuses = [client.post(url, data, **origin).status_code for _ in range(2)]
    assert 429 not in statuses
    refused = client.post(url, data, **origin)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
