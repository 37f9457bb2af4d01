from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from orders.forms import SignupForm
from orders.models import Profile
from rdk.emails import email_preview
from rdk.mail import OutboxConsoleBackend
from rdk.models import OutboundEmail
from rdk.rls import rls_scope
from tests.jobs import drain_tasks
from tests.orders.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_sign_up_creates_a_signed_in_shopper_with_a_profile(client):
    response = client.post(
        "/account/signup/",
        {
            "full_name": "Jo Runner",
            "email": "Jo@Example.com",
            "password1": "laces-and-soles-42",
            "password2": "laces-and-soles-42",
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="jo@example.com")
    with rls_scope(user=user):
        assert Profile.objects.get(user=user).full_name == "Jo Runner"
    assert client.get("/account/").status_code == 200


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "too short"), ("password123", "too common"), ("83749261538", "entirely numeric")],
)
def test_sign_up_applies_the_password_validators(client, password, message):
    response = client.post(
        "/account/signup/",
        {"email": "new@example.com", "password1": password, "password2": password},
    )
    assert response.status_code == 200
    assert message in response.text
    assert not get_user_model().objects.filter(username="new@example.com").exists()


def test_sign_up_refuses_a_taken_email_and_mismatched_passwords(client):
    UserFactory(email="taken@example.com")
    response = client.post(
        "/account/signup/",
        {"email": "TAKEN@example.com", "password1": "x-Long-enough-1", "password2": "other"},
    )
    assert "An account with this email exists" in response.text


def test_a_sign_up_that_loses_the_race_to_its_twin_is_refused_not_a_500(client, monkeypatch):
    # The same sign-up sent twice at once (a double click, a request the
    # balancer replayed on another host): both pass the form's check, the
    # first creates the account.
    UserFactory(username="twin@example.com", email="twin@example.com")
    monkeypatch.setattr(SignupForm, "clean_email", lambda form: form.cleaned_data["email"])

    response = client.post(
        "/account/signup/",
        {
            "email": "twin@example.com",
            "password1": "x-Long-enough-1",
            "password2": "x-Long-enough-1",
        },
    )

    assert response.status_code == 200
    assert "An account with this email exists" in response.text
    assert get_user_model().objects.filter(username="twin@example.com").count() == 1


def test_login_and_logout(client):
    user = UserFactory()
    response = client.post("/account/login/", {"username": user.email, "password": "wrong"})
    assert "do not match an account" in response.text
    response = client.post("/account/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/account/orders").status_code == 200
    assert client.post("/account/logout/").status_code == 302
    assert client.get("/account/orders").status_code == 302


def _error(response) -> str:
    return response.text.split('class="errorlist', 1)[1].split("</ul>", 1)[0]


def test_staff_cannot_sign_in_through_the_shop_and_it_reads_like_a_wrong_password(client):
    """A staff account with its right password, an inactive account and a wrong
    password get the same status and message: the form is no staff oracle."""
    staff = UserFactory(staff=True)
    inactive = UserFactory(is_active=False)
    shopper = UserFactory()
    answers = set()
    for email, password in (
        (staff.email, PASSWORD),
        (inactive.email, PASSWORD),
        (shopper.email, "wrong"),
        ("nobody@example.com", PASSWORD),
    ):
        response = client.post("/account/login/", {"username": email, "password": password})
        answers.add((response.status_code, _error(response)))
        assert "_auth_user_id" not in client.session
    assert len(answers) == 1
    assert "do not match an account" in answers.pop()[1]


def test_sign_up_sends_the_welcome_email_once(client):
    client.post(
        "/account/signup/",
        {
            "full_name": "Jo Runner",
            "email": "jo@example.com",
            "password1": "laces-and-soles-42",
            "password2": "laces-and-soles-42",
        },
    )
    welcome = OutboundEmail.objects.get(kind="welcome")
    assert (welcome.to, welcome.subject) == ("jo@example.com", "Welcome to Real Deal Kickz")
    assert "Hello Jo Runner," in email_preview(welcome)[0]
    assert drain_tasks() == 1
    assert [m.to for m in mail.outbox] == [["jo@example.com"]]


def test_password_reset_by_email(client, settings):
    """End to end from the email as stored (the Outbox) and as sent: the link
    is whole (no quoted-printable wrapping), absolute from SITE_URL, and works."""
    settings.SITE_URL = "https://shop.example"
    user = UserFactory()
    response = client.post("/account/password-reset/", {"email": user.email})
    assert response.status_code == 302
    assert mail.outbox == []  # queued with the request, sent by the worker
    assert drain_tasks() == 1
    stored = OutboundEmail.objects.get(kind="password_reset", to=user.email)
    link = re.search(r"https://shop\.example(/account/password-reset/\S+)", stored.body_text)[1]
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert f"https://shop.example{link}" in sent.body
    assert f'href="https://shop.example{link}"' in sent.alternatives[0].content
    printed = io.StringIO()
    OutboxConsoleBackend(stream=printed).send_messages([sent])
    assert f"https://shop.example{link}" in printed.getvalue()
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(
        form_url, {"new_password1": "fresh-laces-77", "new_password2": "fresh-laces-77"}
    )
    assert response.status_code == 302
    assert client.login(username=user.email, password="fresh-laces-77")


def test_profile_saves_the_default_address_and_checks_the_country(client):
    user = UserFactory()
    client.force_login(user)
    data = {
        "full_name": "Sam Shopper",
        "address_line1": "1 Sole St",
        "city": "Portland",
        "postal_code": "97201",
        "country": "u1",
    }
    response = client.post("/account/", data)
    assert "two-letter country code" in response.text
    response = client.post("/account/", {**data, "country": "us"})
    assert response.status_code == 302
    with rls_scope(user=user):
        assert Profile.objects.get(user=user).country == "US"


def test_sign_up_from_the_sign_in_page_returns_where_the_shopper_was(client):
    login_page = client.get("/account/login/?next=/checkout").text
    assert 'href="/account/signup/?next=/checkout"' in login_page
    response = client.post(
        "/account/signup/?next=/checkout",
        {
            "email": "back@example.com",
            "password1": "laces-and-soles-42",
            "password2": "laces-and-soles-42",
        },
    )
    assert response["Location"] == "/checkout"
