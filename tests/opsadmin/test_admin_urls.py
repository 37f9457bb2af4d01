"""No admin or ops URL answers a staff user whose session has no verified device."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, reverse

from tests.staff import make_user

SAMPLES = {
    "object_id": "1",
    "app_label": "auth",
    "content_type_id": "1",
    "public_id": str(uuid.uuid4()),
    "id": "1",
}


def _names(patterns, prefix_params=()) -> list[tuple[str, tuple[str, ...]]]:
    found = []
    for entry in patterns:
        params = tuple(prefix_params)
        regex = entry.pattern.regex.pattern
        params += tuple(re.findall(r"\(\?P<(\w+)>", regex))
        if isinstance(entry, URLResolver):
            found += _names(entry.url_patterns, params)
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((entry.name, params))
    return found


def admin_urls() -> list[str]:
    urls = []
    for name, params in _names(admin.site.get_urls()):
        if name in ("login", "otp_enrol_link"):  # the doors in: tests/opsadmin/test_enrolment.py
            continue
        urls.append(reverse(f"admin:{name}", kwargs={p: SAMPLES.get(p, "1") for p in params}))
    return sorted(set(urls))


def test_the_walk_covers_admin_and_ops_pages():
    urls = admin_urls()
    assert len(urls) > 40
    for expected in ("/admin/", "/admin/ops/", "/admin/ops/switches/", "/admin/auth/user/"):
        assert expected in urls


@pytest.mark.django_db
def test_every_admin_url_redirects_a_staff_user_without_otp_to_login(client):
    """A superuser signed in through any other door (the shop login) is not let in."""
    client.force_login(make_user("shop-signed-in-admin"))
    login = reverse("admin:login")
    refused = []
    for url in admin_urls():
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            # Django sends a refused logout to the index, which sends it on to login.
            location = response.get("Location", "")
            to_login = location.startswith(login) or (
                url == reverse("admin:logout") and location == reverse("admin:index")
            )
            if response.status_code != 302 or not to_login:
                refused.append((method, url, response.status_code))
    assert refused == []


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_login_too(client):
    for url in ("/admin/", "/admin/ops/", "/admin/ops/snapshots/", "/admin/opsadmin/auditentry/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_the_default_admin_site_is_the_otp_one():
    from opsadmin.sites import RdkAdminSite

    assert isinstance(
        admin.site._wrapped if hasattr(admin.site, "_wrapped") else admin.site, RdkAdminSite
    )
    assert admin.site.name == "admin"
