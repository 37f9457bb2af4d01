"""The Outbox (local and staging): what was sent, readable and clickable."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rdk.emails import email_send_once
from tests.jobs import drain_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def reset_email():
    email = email_send_once(
        key="account:9:password_reset:abc",
        kind="password_reset",
        to="ann@rdk.test",
        context={"email": "ann@rdk.test", "reset_path": "/account/password-reset/MQ/set-x/"},
    )
    drain_tasks()
    return email


def test_outbox_lists_and_shows_an_email_with_text_and_html(ops_client, reset_email):
    page = ops_client.get(reverse("admin:ops_outbox")).content.decode()
    assert "Reset your Real Deal Kickz password" in page
    assert "ann@rdk.test" in page
    assert 'href="/admin/ops/outbox/"' in ops_client.get(reverse("admin:index")).content.decode()
    detail = ops_client.get(reverse("admin:ops_outbox_detail", args=[reset_email.public_id]))
    text = detail.content.decode()
    assert "/account/password-reset/MQ/set-x/" in text
    assert reverse("admin:ops_outbox_html", args=[reset_email.public_id]) in text
    html = ops_client.get(reverse("admin:ops_outbox_html", args=[reset_email.public_id]))
    assert html.status_code == 200
    assert b"Choose a new password" in html.content
    assert html["X-Frame-Options"] == "SAMEORIGIN"
    policy = html["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy
    assert "sandbox" in policy
    assert "script-src" not in policy


def test_outbox_needs_staff_with_otp(client, reset_email):
    response = client.get(reverse("admin:ops_outbox"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_no_outbox_in_production(ops_client, reset_email, settings):
    settings.EMAIL_OUTBOX_PAGE = False
    assert ops_client.get(reverse("admin:ops_outbox")).status_code == 404
    url = reverse("admin:ops_outbox_html", args=[reset_email.public_id])
    assert ops_client.get(url).status_code == 404
    assert 'href="/admin/ops/outbox/"' not in ops_client.get(reverse("admin:index")).text


def test_a_queued_email_is_shown_rendered_from_its_context(ops_client):
    """Bodies are rendered when an email is sent; until then the Outbox
    renders a queued email on demand."""
    email = email_send_once(
        key="account:9:welcome",
        kind="welcome",
        to="ann@rdk.test",
        context={"name": "Ann Queued", "email": "ann@rdk.test"},
    )
    detail = ops_client.get(reverse("admin:ops_outbox_detail", args=[email.public_id])).text
    assert "Hello Ann Queued," in detail
    html = ops_client.get(reverse("admin:ops_outbox_html", args=[email.public_id])).text
    assert "Ann Queued" in html
