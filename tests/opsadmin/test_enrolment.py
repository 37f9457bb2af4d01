"""Authenticator enrolment only through a one-time, expiring link an Owner
issued (or `otp_enroll --link`), in a fresh session; and clearing a
locked-out account's sign-in limits, audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from opsadmin.models import AuditEntry, EnrolmentLink
from opsadmin.services.otp import enrolment_link_issue, totp_now
from tests.staff import PASSWORD, Staff, make_user, verified_login

pytestmark = pytest.mark.django_db


def _link_path(token: str) -> str:
    return reverse("admin:otp_enrol_link", kwargs={"token": token})


def test_a_link_and_the_password_open_a_fresh_session_that_enrols_once(client):
    user = make_user("newbie")
    token, _link = enrolment_link_issue(user=user, actor="owner")
    session = client.session  # a session from before, which must not carry the secret
    session["planted"] = "by someone else"
    session.save()
    before = session.session_key

    page = client.get(_link_path(token))
    assert page.status_code == 200
    opened = client.post(_link_path(token), {"login": "newbie", "password": PASSWORD})
    assert opened["Location"] == reverse("admin:otp_enrol")
    assert client.session.session_key != before
    assert "planted" not in client.session

    enrol = client.get(reverse("admin:otp_enrol"))
    assert enrol.status_code == 200
    assert b"otpauth://totp/" in enrol.content
    device = user.totpdevice_set.get(confirmed=False)
    done = client.post(reverse("admin:otp_enrol"), {"code": totp_now(device)})
    assert done.status_code == 200
    assert len(done.context["codes"]) == 10
    assert client.get(reverse("admin:index")).status_code == 200
    assert EnrolmentLink.objects.get().used_at is not None
    # Used up: the link answers 400 from now on.
    assert client.get(_link_path(token)).status_code == 400
    assert AuditEntry.objects.filter(action="otp.enrol", outcome="success").exists()


def test_a_wrong_password_on_the_link_opens_nothing(client):
    user = make_user("newbie")
    token, _ = enrolment_link_issue(user=user, actor="owner")
    response = client.post(_link_path(token), {"login": "newbie", "password": "guess"})
    assert response.status_code == 400
    assert client.get(reverse("admin:otp_enrol"))["Location"] == reverse("admin:login")
    assert AuditEntry.objects.filter(action="otp.enrol", outcome="wrong_password").exists()


def test_an_expired_or_replaced_link_is_refused(client):
    user = make_user("newbie")
    old, _ = enrolment_link_issue(user=user, actor="owner")
    new, link = enrolment_link_issue(user=user, actor="owner")
    assert client.get(_link_path(old)).status_code == 400  # replaced
    link.expires_at = timezone.now() - timedelta(seconds=1)
    link.save(update_fields=["expires_at"])
    assert client.get(_link_path(new)).status_code == 400
    assert client.get(_link_path("not-a-token")).status_code == 400


def test_enrolment_link_password_guesses_count_against_the_sign_in_limits(client, settings):
    settings.RATE_LIMITS = {"signin_account": "2/m"}
    user = make_user("newbie")
    token, _ = enrolment_link_issue(user=user, actor="owner")
    for _ in range(2):
        client.post(_link_path(token), {"login": "newbie", "password": "guess"})
    assert (
        client.post(_link_path(token), {"login": "newbie", "password": PASSWORD}).status_code == 429
    )


def test_otp_enroll_link_prints_a_one_time_link(capsys):
    make_user("newbie")
    call_command("otp_enroll", "newbie", "--link")
    out = capsys.readouterr().out
    token = re.search(r"/admin/enrol/([\w-]+)/", out).group(1)
    assert EnrolmentLink.objects.get().token_hash != token  # only its hash is kept


def test_the_owner_issues_links_from_the_user_list(client):
    owner = Staff("owner")
    owner.user.is_superuser = False
    owner.user.save()
    owner.user.groups.add(Group.objects.get(name="Owner"))
    verified_login(client, owner)
    newbie = make_user("newbie")
    response = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "issue_enrolment_link", "_selected_action": [newbie.pk]},
    )
    assert response.status_code == 200
    assert re.search(rb"/admin/enrol/[\w-]{40,}/", response.content)
    assert AuditEntry.objects.filter(action="otp.enrolment_link", target="newbie").exists()


def test_signin_unlock_lets_a_locked_out_account_try_again(client, settings):
    settings.RATE_LIMITS = {"signin_account": "2/m"}
    staff = Staff("ops")
    data = {"login": "ops", "password": "guess", "code": "000000"}
    for _ in range(2):
        client.post(reverse("admin:login"), data)
    staff.device.throttle_increment()
    data["password"] = PASSWORD
    assert client.post(reverse("admin:login"), data).status_code == 429

    call_command("signin_unlock", "ops")

    data["code"] = staff.code()
    assert client.post(reverse("admin:login"), data).status_code == 302
    entry = AuditEntry.objects.get(action="signin.unlock")
    assert entry.target == "ops"
    assert entry.details["cleared"] >= 2
