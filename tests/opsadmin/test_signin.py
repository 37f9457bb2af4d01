"""Admin sign-in: password and code, backup codes, reuse, throttling, audit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opsadmin.models import AuditEntry, BackupCode
from opsadmin.services.otp import SIGN_IN_REFUSED
from tests.staff import PASSWORD, Staff, make_user

pytestmark = pytest.mark.django_db


def sign_in(client, login: str, code: str, password: str = PASSWORD, next_url: str = ""):
    data = {"login": login, "password": password, "code": code}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("admin:login"), data)


def refused(client, response) -> bool:
    """The form came back with an error and nobody is signed in."""
    return (
        response.status_code == 200
        and b'class="errornote"' in response.content
        and "_auth_user_id" not in client.session
    )


def outcomes() -> list[str]:
    return list(
        AuditEntry.objects.filter(action="admin.signin")
        .order_by("id")
        .values_list("outcome", flat=True)
    )


def test_right_code_signs_in_and_opens_the_admin(client, staff):
    response = sign_in(client, "ops", staff.code())
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:ops_home")).status_code == 200
    entry = AuditEntry.objects.get(action="admin.signin")
    assert (entry.actor, entry.outcome, entry.ip) == ("ops", "success", "127.0.0.1")
    assert entry.request_id


def test_email_works_as_the_login_and_next_is_followed(client, staff):
    response = sign_in(client, "ops@rdk.test", staff.code(), next_url="/admin/ops/cache/")
    assert response["Location"] == "/admin/ops/cache/"


def test_offsite_next_is_ignored(client, staff):
    response = sign_in(client, "ops", staff.code(), next_url="https://evil.example/")
    assert response["Location"] == reverse("admin:index")


def test_wrong_code_is_refused_and_audited(client, staff):
    right = staff.code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = sign_in(client, "ops", wrong)
    assert refused(client, response)
    assert SIGN_IN_REFUSED.encode() in response.content
    assert client.get(reverse("admin:index")).status_code == 302
    assert outcomes() == ["wrong_code"]


def test_missing_code_and_wrong_password_are_refused_and_audited(client, staff):
    assert refused(client, sign_in(client, "ops", ""))
    assert refused(client, sign_in(client, "ops", staff.code(), password="nope"))
    assert refused(client, sign_in(client, "nobody", "123456"))
    assert outcomes() == ["no_code", "wrong_password", "wrong_password"]
    assert "_auth_user_id" not in client.session


def test_a_totp_code_cannot_be_used_twice(client, staff):
    code = staff.code()
    assert sign_in(client, "ops", code).status_code == 302
    client.post(reverse("admin:logout"))
    response = sign_in(client, "ops", code)
    assert refused(client, response)
    assert outcomes() == ["success", "wrong_code"]


def test_a_backup_code_works_once(client, staff):
    code = staff.backup_codes[0]
    assert sign_in(client, "ops", code.upper()).status_code == 302
    client.post(reverse("admin:logout"))
    assert refused(client, sign_in(client, "ops", code))
    assert BackupCode.objects.filter(used_at__isnull=False).count() == 1


def test_backup_codes_are_stored_hashed(staff):
    stored = list(BackupCode.objects.values_list("code_hash", flat=True))
    assert len(stored) == 10
    for code in staff.backup_codes:
        assert all(code not in value and code.replace("-", "") not in value for value in stored)


def test_failed_codes_are_throttled_with_growing_delays(client, staff, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 600  # deterministic: the first wait is ten minutes
    right = staff.code()
    sign_in(client, "ops", f"{(int(right) + 1) % 1_000_000:06d}")
    response = sign_in(client, "ops", right)
    assert refused(client, response)
    assert SIGN_IN_REFUSED.encode() in response.content  # the lock-out is not announced
    staff.device.refresh_from_db()
    assert staff.device.throttling_failure_count == 1
    allowed, info = staff.device.verify_is_allowed()
    assert not allowed
    first_wait = info["locked_until"] - staff.device.throttling_failure_timestamp
    staff.device.throttle_increment()
    _, info = staff.device.verify_is_allowed()
    assert info["locked_until"] - staff.device.throttling_failure_timestamp == first_wait * 2
    assert outcomes() == ["wrong_code", "throttled"]


def test_non_staff_cannot_use_the_admin(client):
    make_user("shopper", staff=False)
    response = sign_in(client, "shopper", "123456")
    assert refused(client, response)
    assert outcomes() == ["not_staff"]


def test_staff_without_a_device_cannot_enrol_with_a_password_alone(client):
    make_user("newbie")
    response = sign_in(client, "newbie", "")
    assert refused(client, response)
    assert SIGN_IN_REFUSED.encode() in response.content
    assert client.get(reverse("admin:otp_enrol"))["Location"] == reverse("admin:login")
    assert outcomes() == ["not_enrolled"]


def test_every_refusal_reads_and_answers_the_same(client, staff, settings):
    """Wrong password, right password with a wrong or missing code, a shopper,
    an unenrolled staff member, a locked device: one message, one status."""
    settings.RATE_LIMITS = {"otp_verify": "100/m", "signin_account": "100/m"}
    make_user("shopper", staff=False)
    make_user("newbie")
    wrong = f"{(int(staff.code()) + 1) % 1_000_000:06d}"
    attempts = [
        ("ops", wrong, "not the password"),
        ("ops", wrong, PASSWORD),
        ("ops", "", PASSWORD),
        ("ops", "abcde-fghij", PASSWORD),
        ("shopper", wrong, PASSWORD),
        ("newbie", wrong, PASSWORD),
        ("nobody", wrong, PASSWORD),
    ]
    bodies = set()
    for login, code, password in attempts:
        response = sign_in(client, login, code, password=password)
        assert refused(client, response)
        error = response.content.split(b'class="errornote"', 1)[1].split(b"</p>", 1)[0]
        bodies.add((response.status_code, error))
    assert len(bodies) == 1
    assert outcomes() == [
        "wrong_password",
        "wrong_code",
        "no_code",
        "wrong_code",
        "not_staff",
        "not_enrolled",
        "wrong_password",
    ]


def test_enrolment_page_without_a_password_step_goes_to_login(client):
    assert client.get(reverse("admin:otp_enrol"))["Location"] == reverse("admin:login")


def test_a_second_staff_member_cannot_use_anothers_code(client, staff):
    Staff("other")
    assert refused(client, sign_in(client, "other", staff.code()))


def test_hash_cost_travels_with_the_hash(settings, staff):
    """Codes hashed at one cost still verify after the setting is raised."""
    settings.BACKUP_CODE_SCRYPT_N = 2**14
    assert BackupCode.objects.first().code_hash.startswith("scrypt$256$")
    from opsadmin.services.otp import backup_code_verify, backup_device_for

    device = backup_device_for(staff.user)
    assert backup_code_verify(device=device, code=staff.backup_codes[3]) is True


def test_admin_sign_in_answers_429_once_its_limit_is_spent(client, settings, staff):
    settings.RATE_LIMITS = {"otp_verify": "2/m"}
    data = {"login": staff.user.username, "password": PASSWORD, "code": "000000"}
    for _ in range(2):
        assert client.post("/admin/login/", data).status_code == 200  # refused, form again
    refused = client.post("/admin/login/", data)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


def test_a_rate_limited_sign_in_is_audited_once_per_address_and_window(client, settings, staff):
    """Issue 10 §6: a 429 at the staff sign-in is in the audit log (actor, request
    id, reason), but a flood of refused posts writes one entry per counted key
    and window, not one per post."""
    settings.RATE_LIMITS = {"signin_ip": "2/m", "signin_account": "100/m"}
    data = {"login": "ops", "password": PASSWORD, "code": "000000"}
    answers = [client.post("/admin/login/", data) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 429, 429, 429]
    elsewhere = {"login": "ops@rdk.test", "password": "guess", "code": ""}
    from_b = [client.post("/admin/login/", elsewhere, REMOTE_ADDR="10.0.0.2") for _ in range(3)]
    assert [a.status_code for a in from_b] == [200, 200, 429]

    entries = AuditEntry.objects.filter(action="admin.signin", outcome="rate_limited")
    assert [(e.actor, e.ip, e.request_id, e.target) for e in entries.order_by("id")] == [
        ("ops", "127.0.0.1", answers[2]["X-Request-ID"], "/admin/login/"),
        ("ops@rdk.test", "10.0.0.2", from_b[2]["X-Request-ID"], "/admin/login/"),
    ]
    for entry in entries:
        assert entry.details["reason"] == "rate limited"
        assert entry.details["limit"] == "signin_ip"
        assert entry.details["retry_after"] > 0
