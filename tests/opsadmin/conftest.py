"""Staff users with and without a second factor, and clients signed in both ways."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django_otp import DEVICE_ID_SESSION_KEY

from opsadmin.services.otp import otp_enrol_fresh, totp_now

PASSWORD = "correct horse battery staple 42"


@pytest.fixture(autouse=True)
def _fast_hashes(settings):
    """Cheap hashing in tests; production cost is exercised by test_hash_cost_travels."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.BACKUP_CODE_SCRYPT_N = 2**8


def make_user(username: str, *, staff: bool = True, superuser: bool = True, **extra):
    return get_user_model().objects.create_user(
        username=username,
        email=f"{username}@rdk.test",
        password=PASSWORD,
        is_staff=staff,
        is_superuser=superuser and staff,
        **extra,
    )


class Staff:
    """A staff user with an authenticator and backup codes."""

    def __init__(self, username: str = "ops"):
        self.user = make_user(username)
        self.device, self.backup_codes = otp_enrol_fresh(user=self.user, actor="test")

    def code(self, at: float | None = None) -> str:
        self.device.refresh_from_db()
        return totp_now(self.device, at=at)


@pytest.fixture
def staff(db) -> Staff:
    return Staff()


def verified_login(client, staff: Staff) -> None:
    """Signed in and OTP-verified, as after a successful admin sign-in."""
    client.force_login(staff.user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = staff.device.persistent_id
    session.save()


@pytest.fixture
def ops_client(client, staff):
    verified_login(client, staff)
    client.staff = staff
    return client
