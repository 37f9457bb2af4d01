"""Per-shopper values read with the signed-in user, in the same cache round trip.

The auth backend (`opsadmin.backends`) reads the session's user and their
sign-out epochs with one `get_many`; an app adds the keys of its own
per-shopper values to that read (`user_cache_key_register`, from its
`AppConfig.ready`), and finds them on the request's user (`user_cache_value`)
instead of asking the cache again. The values are as the cache held them when
the request began: code that changes one in the request forgets it
(`user_cache_forget`) and reads the cache again.

A *version* is such a value that names the current state of something of the
shopper's (their cart, their orders): `user_version` reads it, creating one
when there is none, and `user_cache_drop` drops it once the change
commits, so the next reader creates a new one. A page cached for the shopper
under the versions read before its data (rdk.pagecache.PersonalPage) is
never served after a change: a version, once dropped, never comes back
(it is the clock in nanoseconds)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction

ATTRIBUTE = "_rdk_user_cache"
NOT_READ = object()  # not read with the user: ask the cache

_key_makers: list[Callable[[object], str]] = []


def user_cache_key_register(key_for: Callable[[object], str]) -> None:
    """`key_for(user_pk)` names one per-shopper cache key to read with the user."""
    if key_for not in _key_makers:
        _key_makers.append(key_for)


def user_cache_keys(pk: object) -> list[str]:
    return [key_for(pk) for key_for in _key_makers]


def user_cache_attach(user: object, found: dict[str, Any], keys: list[str]) -> None:
    """Keep what the read found for `keys` (None: not in the cache) on `user`."""
    setattr(user, ATTRIBUTE, {key: found.get(key) for key in keys})


def user_cache_value(user: object, key: str) -> Any:
    """The value read with the user (None when the cache had none), or NOT_READ."""
    return getattr(user, ATTRIBUTE, {}).get(key, NOT_READ)


def user_cache_forget(user: object, key: str) -> None:
    getattr(user, ATTRIBUTE, {}).pop(key, None)


VERSION_TTL = 24 * 3600  # a dropped or expired version is simply created again


def user_version(user: object, key: str) -> int | None:
    """The current version under `key`: as read with the user when the request
    began, else from the cache; created now when there is none. None when the
    cache cannot say (unreachable): then nothing may be served or stored
    under it."""
    value = user_cache_value(user, key)
    if value is NOT_READ:
        value = cache.get(key)
    if value is None:
        created = time.time_ns()
        value = created if cache.add(key, created, VERSION_TTL) else cache.get(key)
        getattr(user, ATTRIBUTE, {})[key] = value  # the same version for the rest of the request
    return value if isinstance(value, int) else None


def user_cache_drop(*keys: str) -> None:
    """Drop per-shopper values (versions, a count) once the current transaction
    commits (at once outside one), in one round trip: a page cached under a
    dropped version is never served again. After the commit, not before: a
    reader between the change and its commit would create a new version and
    cache what it still sees."""
    if keys:
        transaction.on_commit(lambda: cache.delete_many(list(keys)))
