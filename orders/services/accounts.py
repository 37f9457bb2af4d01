"""Shopper accounts: sign-up and the profile."""

from __future__ import annotations

import hashlib
import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from orders.addresses import ShippingAddress
from orders.exceptions import AccountExists
from orders.models import Profile
from rdk.emails import email_send_once
from rdk.rls import rls_scope

logger = logging.getLogger(__name__)


ACCOUNT_EXISTS = "An account with this email exists. Sign in or reset your password."


def email_normalize(email: str) -> str:
    return email.strip().lower()


@transaction.atomic
def user_signup(*, email: str, password: str, full_name: str = "") -> User:
    """Create a shopper (username = normalised email) and their profile, and
    queue the welcome email (sent once, with the account committed).

    The profile row is protected by row security; it is written under the new
    shopper's own scope (they have just proven who they are by signing up)."""
    User = get_user_model()
    email = email_normalize(email)
    try:
        with transaction.atomic():  # a savepoint: another request may have won the race
            user = User.objects.create_user(username=email, email=email, password=password)
    except IntegrityError:
        raise AccountExists(ACCOUNT_EXISTS) from None
    with rls_scope(user=user):
        Profile.objects.create(user=user, full_name=full_name.strip())
    email_send_once(
        key=f"account:{user.pk}:welcome",
        kind="welcome",
        to=email,
        context={"name": full_name.strip() or email, "email": email},
    )
    logger.info("account.signup", extra={"user_id": user.pk})
    return user


def password_reset_email_send(*, user: User, reset_path: str) -> None:
    """Queue the password-reset email with its one-time link (`reset_path`,
    made absolute from SITE_URL). One email per link: asking twice within the
    same second yields the same link, and one email."""
    link_id = hashlib.sha256(reset_path.encode()).hexdigest()[:24]
    email_send_once(
        key=f"account:{user.pk}:password_reset:{link_id}",
        kind="password_reset",
        to=user.email,
        context={"email": user.email, "reset_path": reset_path},
    )


@transaction.atomic
def profile_update(*, user: User, **fields: str) -> Profile:
    """Update the shopper's name and default shipping address."""
    profile, _ = Profile.objects.get_or_create(user=user)
    allowed = {
        "full_name",
        "address_line1",
        "address_line2",
        "city",
        "region",
        "postal_code",
        "country",
        "phone",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Unknown profile fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(profile, name, value.strip())
    if profile.country:
        profile.country = profile.country.upper()
    profile.full_clean()
    profile.save()
    return profile


def profile_address_save(*, user: User, address: ShippingAddress) -> Profile:
    """Keep a checkout address as the shopper's default (they ticked "save")."""
    return profile_update(
        user=user,
        full_name=address.name,
        address_line1=address.line1,
        address_line2=address.line2,
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country=address.country,
        phone=address.phone,
    )
