"""Staff users with a second factor, shared by every app's admin tests.

The admin accepts only OTP-verified staff (opsadmin), so an admin test signs in
the way a real sign-in leaves the session: password, then a verified device."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django_otp import DEVICE_ID_SESSION_KEY

from opsadmin.services.otp import otp_enrol_fresh, totp_now

PASSWORD = "correct horse battery staple 42"


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


def verified_login(client, staff: Staff) -> None:
    """Signed in and OTP-verified, as after a successful admin sign-in."""
    client.force_login(staff.user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = staff.device.persistent_id
    session.save()
