"""The session engine (`SESSION_ENGINE = "opsadmin.sessions"`): Django's
`cached_db`, reading the session's user with the session, in one cache round
trip.

A signed-in request asked the cache twice before its view: the session, then
the user it names with their sign-out epochs and per-shopper values
(`opsadmin.services.sessions.session_user_get`). The second read needs the user
id the first returns. A session key names one user for its whole life (Django
gives a session a new key when someone signs in), so each process remembers
which user a session key named the last time (a bounded LRU) and asks for the
session and that user's keys together (`MGET`).

What was read is used only when the session, read in the same `MGET`, still
names that user; otherwise (a new process, a session whose user changed, a
session not in the cache) the two reads happen as before. The read is handed
to `session_user_get` through a context variable that every session load of
the request resets first, so a user is never built from another request's
read, and it is used once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextvars import ContextVar
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbSessionStore
from django.core.cache.backends.base import BaseCache

# (the user's primary key as the session stores it, what the MGET found)
Prefetched = tuple[str, dict[str, Any]]

_prefetched: ContextVar[Prefetched | None] = ContextVar("rdk_session_prefetched", default=None)

REMEMBERED_SESSIONS = 10_000


class _UsersOfSessions:
    """Session key -> the user id it named when last loaded, least recently
    used first out. A hint only: the session read with it must agree."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[str, str] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, session_key: str) -> str | None:
        with self.lock:
            user_id = self.entries.get(session_key)
            if user_id is not None:
                self.entries.move_to_end(session_key)
            return user_id

    def set(self, session_key: str, user_id: str) -> None:
        with self.lock:
            self.entries[session_key] = user_id
            self.entries.move_to_end(session_key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def forget(self, session_key: str) -> None:
        with self.lock:
            self.entries.pop(session_key, None)


users_of_sessions = _UsersOfSessions(REMEMBERED_SESSIONS)


def prefetched_take(user_id: str) -> dict[str, Any] | None:
    """What this request's session load read for `user_id`, once; None if it
    read nothing for that user."""
    found = _prefetched.get()
    if found is None or found[0] != user_id:
        return None
    _prefetched.set(None)
    return found[1]


class SessionStore(CachedDbSessionStore):
    def load(self) -> dict[str, Any]:
        _prefetched.set(None)
        session_key = self.session_key
        user_id = users_of_sessions.get(session_key) if session_key else None
        if user_id is None:
            data: dict[str, Any] = super().load()
        else:
            from opsadmin.services.sessions import session_user_keys

            shared: BaseCache = self._cache  # type: ignore[attr-defined]  # cached_db's
            try:
                found = shared.get_many([self.cache_key, *session_user_keys(user_id)])
            except Exception:  # as cached_db: a failed read is a miss
                found = {}
            cached: dict[str, Any] | None = found.get(self.cache_key)
            if cached is None:
                data = super().load()
            else:
                data = cached
                if str(data.get(SESSION_KEY)) == user_id:
                    _prefetched.set((user_id, found))
        if session_key:
            named = data.get(SESSION_KEY)
            if named is None:
                users_of_sessions.forget(session_key)
            else:
                users_of_sessions.set(session_key, str(named))
        return data
