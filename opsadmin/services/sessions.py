"""Signing people out everywhere (RUNBOOK §7 "rotate all admin sessions").

Every session remembers, at sign-in, the epoch counters of the scopes it
belongs to: `all`, `staff` for staff users, and `user:<pk>`. Rotating a scope
bumps its counter; `SessionEpochMiddleware` compares on every request and signs
a stale session out. Counters live in the database and are mirrored in the
shared cache, so the check works whatever the session backend (cookies
included), on every app server.

A signed-in request reads its user's row and the epochs of every scope it could
belong to in one cache round trip (`session_user_get`, through
`opsadmin.backends.SessionUserBackend`), and asks PostgreSQL nothing. The row is
cached with the user's generation, a counter bumped whenever the user is saved
or deleted (password, `is_active`, `is_staff`, …), before and again after the
change commits: a row cached under an older generation is never used, even one
a request read just before the change and cached just after it. Permissions are
not in the row: the auth backend queries them, as before. Apps add their own
per-shopper keys to the same read (`rdk.usercache`: the header's cart count).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Collection
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from opsadmin.exceptions import SessionScopeError
from opsadmin.models import SessionActivity, SessionEpoch
from opsadmin.sessions import prefetched_take
from rdk.audit import audit_record
from rdk.usercache import user_cache_attach, user_cache_keys

logger = logging.getLogger(__name__)

STAMP_KEY = "_rdk_epochs"
SEEN_KEY = "_rdk_seen"
CACHE_PREFIX = "sessepoch:"
USER_PREFIX = "sessuser:"
GENERATION_PREFIX = "sessusergen:"
# Bounds a row left stale by a write that sends no signal (queryset.update) or
# made while the cache was unreachable.
USER_TTL = 300

Scope = Literal["user", "staff", "all"]


def scopes_for(user: User) -> list[str]:
    scopes = ["all", f"user:{user.pk}"]
    if user.is_staff:
        scopes.append("staff")
    return scopes


def epochs_current(scopes: list[str], found: dict[str, Any] | None = None) -> dict[str, int]:
    """The current epoch of each scope; `found` holds cache values already read."""
    if found is None:
        found = cache.get_many([CACHE_PREFIX + scope for scope in scopes])
    epochs = {
        scope: found[CACHE_PREFIX + scope] for scope in scopes if CACHE_PREFIX + scope in found
    }
    missing = [scope for scope in scopes if scope not in epochs]
    if missing:
        stored = dict(SessionEpoch.objects.filter(scope__in=missing).values_list("scope", "value"))
        for scope in missing:
            epochs[scope] = stored.get(scope, 0)
            # add(), not set(): a rotation that committed meanwhile has already
            # set the newer value, which must win.
            cache.add(CACHE_PREFIX + scope, epochs[scope], timeout=None)
    return epochs


def session_stamp(request: HttpRequest, user: User) -> None:
    request.session[STAMP_KEY] = epochs_current(scopes_for(user))


def session_is_current(request: HttpRequest, user: User) -> bool:
    stamp = request.session.get(STAMP_KEY) or {}
    scopes = scopes_for(user)
    # Read with the user's row (session_user_get); None: read them now.
    current = epochs_current(scopes, getattr(user, "_rdk_epochs", None))
    return all(stamp.get(scope, 0) == value for scope, value in current.items())


def session_user_keys(pk: object) -> list[str]:
    """The cache keys `session_user_get` reads for the user `pk`: their row,
    its generation, the sign-out epochs of every scope the user may belong to
    (whether they are staff is in the row) and the apps' per-shopper values
    (rdk.usercache)."""
    epoch_keys = [CACHE_PREFIX + scope for scope in ("all", f"user:{pk}", "staff")]
    return [f"{USER_PREFIX}{pk}", f"{GENERATION_PREFIX}{pk}", *epoch_keys, *user_cache_keys(pk)]


def session_user_get(*, user_id: object) -> User | None:
    """The user a session names (None if there is none) with the epochs of its
    scopes attached (`_rdk_epochs`), in one cache round trip: the row from the
    cache when it was cached under the user's current generation, otherwise
    from PostgreSQL (then cached)."""
    User = get_user_model()
    try:
        pk = User._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    row_key, generation_key = f"{USER_PREFIX}{pk}", f"{GENERATION_PREFIX}{pk}"
    app_keys = user_cache_keys(pk)
    # Read with the session itself when the session engine could (opsadmin/sessions.py).
    found = prefetched_take(str(pk))
    if found is None:
        found = cache.get_many(session_user_keys(pk))
    generation = found.get(generation_key, 0)
    cached = found.get(row_key)
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == generation:
        row = cached[1]
        user = User.from_db(DEFAULT_DB_ALIAS, list(row), list(row.values()))
    else:
        fetched = User._default_manager.filter(pk=pk).first()
        if fetched is None:
            return None
        user = fetched
        row = {f.attname: getattr(user, f.attname) for f in User._meta.concrete_fields}
        cache.set(row_key, (generation, row), USER_TTL)
    user._rdk_epochs = found  # type: ignore[attr-defined]  # read by session_is_current
    user_cache_attach(user, found, app_keys)
    return user


def user_row_forget(sender: object, instance: User, **kwargs: object) -> None:
    """post_save / post_delete of a user: bump their generation, so no cached
    row of theirs is used again. Now (this transaction's own requests) and once
    the change commits (a row read before the commit and cached after it)."""
    key = f"{GENERATION_PREFIX}{instance.pk}"

    def bump() -> None:
        try:
            cache.add(key, 0, timeout=None)
            cache.incr(key)
        except ValueError:  # the cache is unreachable: no row is read from it either
            logger.warning("sessions.user_generation_unavailable")

    bump()
    transaction.on_commit(bump)


def session_key_hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def activity_touch(request: HttpRequest, *, user: User, ip: str | None) -> None:
    """Record that this session was seen, at most once per SESSION_ACTIVITY_INTERVAL."""
    now = time.time()
    seen = request.session.get(SEEN_KEY)
    if seen and now - seen < settings.SESSION_ACTIVITY_INTERVAL:
        return
    if not request.session.session_key:
        request.session.save()
    SessionActivity.objects.update_or_create(
        key_hash=session_key_hash(request.session.session_key or ""),  # saved above
        defaults={
            "user": user,
            "ip": ip,
            "user_agent": request.headers.get("User-Agent", "")[:300],
            "last_seen": timezone.now(),
            "ended_at": None,
            "ended_reason": "",
        },
    )
    request.session[SEEN_KEY] = now


def on_user_logged_in(
    sender: type[User], request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    """Stamp the new session; its activity is recorded on its next request."""
    if request is None or not hasattr(request, "session"):
        return
    session_stamp(request, user)
    request.session.pop(SEEN_KEY, None)


def on_user_logged_out(
    sender: type[User], request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    if request is None or not getattr(request, "session", None) or user is None:
        return
    key = request.session.session_key
    if key:
        SessionActivity.objects.filter(key_hash=session_key_hash(key), ended_at=None).update(
            ended_at=timezone.now(), ended_reason="signed out"
        )


def on_user_pre_save(
    sender: type[User],
    instance: User,
    update_fields: Collection[str] | None = None,
    **kwargs: Any,
) -> None:
    """Note whether this save changes the password (reset, change, admin)."""
    instance._rdk_password_changed = False  # type: ignore[attr-defined]  # read by post_save
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._rdk_password_changed = stored is not None and stored != instance.password  # type: ignore[attr-defined]


def on_user_post_save(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    """A new password signs out every session of the user (Django checks the
    session's password hash), so their activity records end with it; the
    session that changed it, if kept, is recorded again on its next request."""
    if created or not getattr(instance, "_rdk_password_changed", False):
        return
    SessionActivity.objects.filter(user=instance, ended_at=None).update(
        ended_at=timezone.now(), ended_reason="password changed"
    )


@transaction.atomic
def sessions_rotate(
    *, scope: Scope, actor: str, user_id: int | None = None, reason: str = ""
) -> int:
    """Sign out every session of one user, of all staff, or of everyone, on
    their next request. Returns how many recorded sessions were ended."""
    User = get_user_model()
    if scope == "user":
        if user_id is None or not User.objects.filter(pk=user_id).exists():
            raise SessionScopeError("Choose an existing user to sign out.")
        key, target = f"user:{user_id}", User.objects.get(pk=user_id).get_username()
        affected = SessionActivity.objects.filter(user_id=user_id)
    elif scope == "staff":
        key, target = "staff", "all staff"
        affected = SessionActivity.objects.filter(user__is_staff=True)
    elif scope == "all":
        key, target = "all", "everyone"
        affected = SessionActivity.objects.all()
    else:
        raise SessionScopeError(f"Unknown scope {scope!r}: use user, staff or all.")
    epoch, _ = SessionEpoch.objects.select_for_update().get_or_create(scope=key)
    SessionEpoch.objects.filter(scope=key).update(
        value=F("value") + 1, rotated_at=timezone.now(), rotated_by=actor[:150]
    )
    epoch.refresh_from_db()
    ended = affected.filter(ended_at=None).update(ended_at=timezone.now(), ended_reason="rotated")
    new_value = epoch.value
    transaction.on_commit(lambda: cache.set(CACHE_PREFIX + key, new_value, timeout=None))
    audit_record(
        action="sessions.rotate",
        actor=actor,
        target=target,
        outcome="ok",
        reason=reason,
        ended=ended,
    )
    logger.info("sessions.rotate", extra={"scope": key, "ended": ended})
    return ended
