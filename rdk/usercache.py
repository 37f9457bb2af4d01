"""Per-shopper values read with the signed-in user, in the same cache round trip.

The auth backend (`opsadmin.backends`) reads the session's user and their
sign-out epochs with one `get_many`; an app adds the keys of its own
per-shopper values to that read (`user_cache_key_register`, from its
`AppConfig.ready`), and finds them on the request's user (`user_cache_value`)
instead of asking the cache again. The values are as the cache held them when
the request began: code that changes one in the request forgets it
(`user_cache_forget`) and reads the cache again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
