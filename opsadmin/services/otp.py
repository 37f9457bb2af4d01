"""Second factor for staff: TOTP devices (django-otp) and hashed backup codes.

Sign-in asks for a password and one code. Six digits are checked against the
user's TOTP device; anything else against their backup codes. Each device is
throttled on its own by django-otp's ThrottlingMixin (1, 2, 4, 8 … seconds after
successive failures), every check takes a row lock on the device so two
concurrent attempts cannot both pass, and a TOTP code is refused once its time
step (or a later one) has been used (`TOTPDevice.last_t`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from opsadmin.exceptions import EnrolmentError, UserNotFound
from opsadmin.models import BackupCode, BackupCodeDevice, EnrolmentLink
from rdk.audit import audit_record
from rdk.clientip import client_ip_for_records
from rdk.ratelimits import limit_reset

logger = logging.getLogger(__name__)

BACKUP_CODE_COUNT = 10
_BACKUP_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l, o, 0, 1: easy to copy by hand


# Users and devices ------------------------------------------------------------------


def user_find(*, login: str) -> User:
    """The user named `login` (username, or email when it holds an @)."""
    User = get_user_model()
    login = (login or "").strip()
    if "@" in login:
        matches = list(User.objects.filter(email__iexact=login)[:2])
        if len(matches) == 1:
            return matches[0]
    try:
        return User.objects.get(**{User.USERNAME_FIELD: login})
    except User.DoesNotExist:
        raise UserNotFound(f"No user is named {login!r}.") from None


def totp_device_for(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def backup_device_for(user: User) -> BackupCodeDevice | None:
    device: BackupCodeDevice | None = (
        BackupCodeDevice.objects.filter(user=user, confirmed=True).order_by("id").first()
    )
    return device


def totp_now(device: TOTPDevice, *, at: float | None = None) -> str:
    """The code the device shows now (for `otp_code` locally, and tests)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if at is not None:
        totp.time = at
    return f"{totp.token():0{device.digits}d}"


# Backup codes ------------------------------------------------------------------------


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _hash(code: str, salt: str, n: int | None = None) -> str:
    """`scrypt$<n>$<hex>`; the cost travels with the hash so it can be raised later."""
    n = n or settings.BACKUP_CODE_SCRYPT_N
    digest = hashlib.scrypt(
        _normalise(code).encode(), salt=bytes.fromhex(salt), n=n, r=8, p=1, dklen=32
    )
    return f"scrypt${n}${digest.hex()}"


def _cost(code_hash: str) -> int:
    try:
        return int(code_hash.split("$")[1])
    except (IndexError, ValueError):
        return settings.BACKUP_CODE_SCRYPT_N


def _new_code() -> str:
    raw = "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


@transaction.atomic
def backup_codes_issue(*, user: User, actor: str) -> list[str]:
    """Replace the user's backup codes with ten new ones and return them in
    plain text: the only time they exist outside the user's hands."""
    BackupCodeDevice.objects.filter(user=user).delete()
    salt = secrets.token_hex(16)
    device = BackupCodeDevice.objects.create(user=user, name="Backup codes", salt=salt)
    codes = [_new_code() for _ in range(BACKUP_CODE_COUNT)]
    BackupCode.objects.bulk_create(
        [BackupCode(device=device, code_hash=_hash(code, salt)) for code in codes]
    )
    audit_record(action="otp.backup_codes_issue", actor=actor, target=user.get_username())
    return codes


def backup_code_verify(*, device: BackupCodeDevice, code: str) -> bool:
    """Consume one unused code; callers hold a row lock on `device`."""
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return False
    match = None
    digests: dict[int, str] = {}
    for candidate in device.codes.select_for_update().filter(used_at__isnull=True):
        cost = _cost(candidate.code_hash)
        if cost not in digests:
            digests[cost] = _hash(code, device.salt, cost)
        if hmac.compare_digest(candidate.code_hash, digests[cost]):
            match = candidate
    if match is None:
        device.throttle_increment(commit=True)
        return False
    match.used_at = timezone.now()
    match.save(update_fields=["used_at"])
    device.throttle_reset(commit=False)
    device.set_last_used_timestamp(commit=False)
    device.save()
    return True


def backup_codes_left(user: User) -> int:
    return BackupCode.objects.filter(
        device__user=user, device__confirmed=True, used_at__isnull=True
    ).count()


# Sign-in -------------------------------------------------------------------------------


@dataclass
class SignIn:
    """What a sign-in attempt came to. `outcome` is audited as is."""

    # success | wrong_password | not_staff | not_enrolled | no_code | wrong_code | throttled
    outcome: str
    message: str = ""
    user: User | None = None
    device: Device | None = None
    locked_until: datetime | None = None


def _verify_locked(device: Device, code: str) -> tuple[bool, dict[str, Any] | None]:
    """Verify under a row lock; (verified, throttle info when refused)."""
    with transaction.atomic():
        locked = type(device).objects.select_for_update().get(pk=device.pk)
        allowed, info = locked.verify_is_allowed()
        if not allowed:
            return False, info or {}
        return bool(locked.verify_token(code)), None


def sign_in_attempt(*, request: HttpRequest, login: str, password: str, code: str) -> SignIn:
    """Check a password and a code for the admin; audit the attempt."""
    user = authenticate(request, username=_username_for(login), password=password)
    result = _sign_in_result(user, code.strip())
    audit_record(
        action="admin.signin",
        actor=(user.get_username() if user else (login or "")[:150]),
        target="admin",
        outcome=result.outcome,
        ip=client_ip_for_records(request) or "",
    )
    logger.info("admin.signin", extra={"outcome": result.outcome})
    return result


def _username_for(login: str) -> str:
    try:
        return user_find(login=login).get_username()
    except UserNotFound:
        return login


# Every refusal reads the same and answers the same: which part was wrong
# (password, code, account kind, no authenticator yet, too many codes) is
# only in the audit log, never in the answer.
SIGN_IN_REFUSED = (
    "That username, password or code is not right. "
    "After several wrong tries, wait a minute before the next."
)


def _same_work_as_a_code_check(code: str) -> None:
    """A refused password still costs what checking a backup code would, so
    the answer's timing does not tell a right password from a wrong one."""
    if code and not (code.isdigit() and len(code) == 6):
        _hash(code, "00" * 16)


def _sign_in_result(user: User | None, code: str) -> SignIn:
    refused = SIGN_IN_REFUSED
    if user is None:
        _same_work_as_a_code_check(code)
        return SignIn("wrong_password", refused)
    if not (user.is_active and user.is_staff):
        _same_work_as_a_code_check(code)
        return SignIn("not_staff", refused, user=user)
    totp = totp_device_for(user)
    if totp is None:
        _same_work_as_a_code_check(code)
        return SignIn("not_enrolled", refused, user=user)
    if not code:
        return SignIn("no_code", refused, user=user)
    is_totp = code.isdigit() and len(code) == totp.digits
    device = totp if is_totp else backup_device_for(user)
    if device is None:
        _same_work_as_a_code_check(code)
        return SignIn("wrong_code", refused, user=user)
    verified, info = _verify_locked(device, code)
    if info is not None:
        return SignIn("throttled", refused, user=user, locked_until=info.get("locked_until"))
    if not verified:
        return SignIn("wrong_code", refused, user=user)
    return SignIn("success", user=user, device=device)


# Enrolment -------------------------------------------------------------------------------


@transaction.atomic
def enrolment_start(*, user: User) -> TOTPDevice:
    """The user's pending (unconfirmed) authenticator, created on first call."""
    if totp_device_for(user) is not None:
        raise EnrolmentError("This account already has an authenticator.")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def enrolment_link_issue(*, user: User, actor: str, ip: str = "") -> tuple[str, EnrolmentLink]:
    """A new one-time enrolment link for a staff member with no authenticator;
    any earlier unused link of theirs stops working. Returns the token (shown
    once, never stored) and the link."""
    if not (user.is_active and user.is_staff):
        raise EnrolmentError(f"{user.get_username()} is not an active staff account.")
    if totp_device_for(user) is not None:
        raise EnrolmentError(
            f"{user.get_username()} already has an authenticator. Delete it first "
            "(Django OTP → TOTP devices) to let them set up a new one."
        )
    EnrolmentLink.objects.filter(user=user, used_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    hours = settings.OTP_ENROLMENT_LINK_HOURS
    link = EnrolmentLink.objects.create(
        user=user,
        token_hash=_token_hash(token),
        issued_by=actor[:150],
        expires_at=timezone.now() + timedelta(hours=hours),
    )
    audit_record(
        action="otp.enrolment_link",
        actor=actor,
        target=user.get_username(),
        ip=ip,
        expires_at=link.expires_at.isoformat(),
    )
    return token, link


def enrolment_link_find(*, token: str = "", pk: int | None = None) -> EnrolmentLink | None:
    """The usable link (unused, unexpired, for an active staff member) by its
    token or id, or None."""
    links = EnrolmentLink.objects.select_related("user").filter(
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
        user__is_active=True,
        user__is_staff=True,
    )
    if pk is not None:
        return links.filter(pk=pk).first()
    if not token or len(token) > 100:
        return None
    return links.filter(token_hash=_token_hash(token)).first()


@transaction.atomic
def enrolment_confirm(
    *, user: User, code: str, actor: str, link: EnrolmentLink, ip: str = ""
) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending authenticator with a code it shows; use up the
    enrolment link; issue backup codes."""
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("id")
        .first()
    )
    if device is None:
        raise EnrolmentError("There is no authenticator waiting to be confirmed. Start again.")
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        audit_record(
            action="otp.enrol", actor=actor, target=user.get_username(), outcome="throttled", ip=ip
        )
        raise EnrolmentError("Too many wrong codes. Wait a few seconds and try again.")
    if not device.verify_token(code.strip()):
        audit_record(
            action="otp.enrol", actor=actor, target=user.get_username(), outcome="wrong_code", ip=ip
        )
        raise EnrolmentError(
            "That code is not right. Check the app shows RDK and try the next code."
        )
    used = EnrolmentLink.objects.filter(
        pk=link.pk, user=user, used_at__isnull=True, expires_at__gt=timezone.now()
    ).update(used_at=timezone.now())
    if not used:
        raise EnrolmentError("This enrolment link was used or has expired. Ask for a new one.")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = backup_codes_issue(user=user, actor=actor)
    audit_record(
        action="otp.enrol", actor=actor, target=user.get_username(), outcome="success", ip=ip
    )
    return device, codes


@transaction.atomic
def otp_enrol_fresh(*, user: User, actor: str) -> tuple[TOTPDevice, list[str]]:
    """Operator bootstrap (`manage.py otp_enroll`): replace every device of the
    user with a confirmed authenticator and ten backup codes."""
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    codes = backup_codes_issue(user=user, actor=actor)
    audit_record(action="otp.enrol", actor=actor, target=user.get_username(), outcome="reset")
    return device, codes


# Lock-outs -------------------------------------------------------------------------


@transaction.atomic
def signin_limits_clear(*, user: User, actor: str, ip: str = "") -> int:
    """Let a locked-out staff member or shopper try again now: forget the
    sign-in and code counters naming their account and reset their devices'
    throttles. Audited. Returns how many counters or throttles were cleared."""
    cleared = 0
    for value in {user.get_username().casefold(), (user.email or "").casefold()} - {""}:
        cleared += limit_reset("signin_account", "account", value)
    cleared += limit_reset("otp_verify", "user", f"user:{user.pk}")
    for model in (TOTPDevice, BackupCodeDevice):
        for device in model.objects.select_for_update().filter(user=user):
            if device.throttling_failure_count:
                device.throttle_reset(commit=True)
                cleared += 1
    audit_record(
        action="signin.unlock", actor=actor, target=user.get_username(), ip=ip, cleared=cleared
    )
    return cleared
