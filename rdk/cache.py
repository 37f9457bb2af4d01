"""RDK's Redis cache backend: Django's, reusing one client per connection pool,
and degrading instead of failing when Redis cannot be reached.

Django builds a new `redis.Redis` object for every cache call, and its
constructor fills a table of ~170 response callbacks: about a third of the time
a cached page takes to serve. The client is thread-safe (connections come
from the pool), so one per pool is enough.

Redis is a cache and a counter store, never the source of truth, so an
unreachable Redis turns every operation into a miss or a no-op: pages render
from PostgreSQL, sessions load from the database (`cached_db`), switches read
their table, rate limits follow their policy (`rdk.ratelimits`). After a
failure the backend stops trying for `RETRY_SECONDS` (a key of the cache's
settings), so a Redis that times out costs one timeout, not one per call. The
outage is reported to `rdk.degradations` (logged once per interval, shown on
the ops home and `/readyz`). Keys written while Redis was unreachable may hold
stale values in a Redis that was only cut off (a session signed out meanwhile,
a tag revalidated meanwhile): they are deleted as soon as Redis answers again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

from rdk.degradations import degradation_clear, degradation_get, degradation_report

UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
DEGRADATION = "cache"
DEGRADED_SUMMARY = (
    "Redis is unreachable: pages render uncached from PostgreSQL, sessions and switches "
    "read the database, rate limits follow their cache-down policy."
)
# Keys written during an outage that are deleted on recovery; beyond this many
# the whole cache is cleared instead (it holds nothing that cannot be rebuilt).
LOST_KEYS_LIMIT = 10_000


class _Client(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        # The stubs leave out RedisCacheClient's private helpers this reuses.
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients.setdefault(index, self._client(connection_pool=pool))  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        params = dict(params)
        self.retry_seconds = float(params.pop("RETRY_SECONDS", 5))
        super().__init__(server, params)
        self._class = _Client
        self._down_until = 0.0
        self._lost: set[tuple[str, int | None]] = set()
        self._lost_all = False
        self._lock = threading.Lock()

    # The degrading wrapper ----------------------------------------------------

    def _guarded[T](
        self,
        operation: Callable[[], T],
        fallback: T | BaseException,
        *,
        writes: Iterable[str] = (),
        version: int | None = None,
        everything: bool = False,
    ) -> T:
        """Run one operation against Redis, or answer `fallback` (raise it when
        it is an exception) when Redis is unreachable. `writes` are the keys the
        operation would have changed (`everything` for a clear)."""
        if time.monotonic() < self._down_until:
            reason = "Redis unreachable, retry pending"
            return self._degraded(fallback, writes, version, everything, reason)
        try:
            result = operation()
        except UNREACHABLE as exc:
            self._down_until = time.monotonic() + self.retry_seconds
            reason = f"{type(exc).__name__}: unreachable"
            return self._degraded(fallback, writes, version, everything, reason)
        if degradation_get(DEGRADATION) is not None:
            self._recover()
        return result

    def _degraded[T](
        self,
        fallback: T | BaseException,
        writes: Iterable[str],
        version: int | None,
        everything: bool,
        reason: str,
    ) -> T:
        with self._lock:
            self._lost.update((key, version) for key in writes)
            if everything or len(self._lost) > LOST_KEYS_LIMIT:
                self._lost.clear()
                self._lost_all = True
        degradation_report(DEGRADATION, summary=DEGRADED_SUMMARY, reason=reason)
        if isinstance(fallback, BaseException):
            raise fallback
        return fallback

    def _recover(self) -> None:
        with self._lock:
            lost, self._lost = self._lost, set()
            lost_all, self._lost_all = self._lost_all, False
        try:
            if lost_all:
                super().clear()
            for version in {version for _, version in lost}:
                super().delete_many([key for key, v in lost if v == version], version=version)
        except UNREACHABLE:
            with self._lock:
                self._lost |= lost
                self._lost_all = self._lost_all or lost_all
            self._down_until = time.monotonic() + self.retry_seconds
            return
        degradation_clear(DEGRADATION)

    def probe(self) -> None:
        """Ask Redis directly, whatever the retry pause says; raises when it
        cannot be reached (for /readyz), ends the degradation when it can."""
        self._cache.get_client(write=True).ping()
        self._down_until = 0.0
        if degradation_get(DEGRADATION) is not None:
            self._recover()

    # Django's cache API --------------------------------------------------------

    def add(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        return self._guarded(
            lambda: super(RedisCache, self).add(key, value, timeout, version),
            False,
            writes=[key],
            version=version,
        )

    def get(self, key: Any, default: Any | None = None, version: int | None = None) -> Any:
        return self._guarded(lambda: super(RedisCache, self).get(key, default, version), default)

    def set(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> None:
        self._guarded(
            lambda: super(RedisCache, self).set(key, value, timeout, version),
            None,
            writes=[key],
            version=version,
        )

    def touch(
        self, key: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self._guarded(lambda: super(RedisCache, self).touch(key, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._guarded(
            lambda: super(RedisCache, self).delete(key, version),
            False,
            writes=[key],
            version=version,
        )

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        return self._guarded(lambda: super(RedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._guarded(lambda: super(RedisCache, self).has_key(key, version), False)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # Django's answer for a missing key: callers already handle it.
        return self._guarded(
            lambda: super(RedisCache, self).incr(key, delta, version),
            ValueError(f"Key '{key}' not found (the cache is unreachable)."),
            writes=[key],
            version=version,
        )

    def count(self, key: Any, timeout: float, version: int | None = None) -> int | None:
        """Add one to the counter at `key`, creating it at 1 with `timeout`
        (seconds) when there is none, and return the new count; None when Redis
        is unreachable. One round trip: a pipeline of `SET key 0 EX timeout NX`
        and `INCR key`, where `add` then `incr` took three (Django's `incr`
        checks that the key exists first). The value is a plain integer, as
        `add` and `incr` store it."""
        full_key = self.make_and_validate_key(key, version=version)

        def counted() -> int:
            client = self._cache.get_client(full_key, write=True)
            pipeline = client.pipeline(transaction=False)
            pipeline.set(full_key, 0, ex=max(int(timeout), 1), nx=True)
            pipeline.incr(full_key)
            return int(pipeline.execute()[-1])

        return self._guarded(counted, None, writes=[key], version=version)

    def set_many(
        self,
        data: dict[Any, Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> list[Any]:
        return self._guarded(
            lambda: super(RedisCache, self).set_many(data, timeout, version),
            list(data),
            writes=list(data),
            version=version,
        )

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        keys = list(keys)
        self._guarded(
            lambda: super(RedisCache, self).delete_many(keys, version),
            None,
            writes=keys,
            version=version,
        )

    def clear(self) -> None:
        self._guarded(super().clear, None, everything=True)


# Backends whose entries live inside one process: a management command that
# writes to them changes nothing a running server reads.
_PER_PROCESS = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


def per_process_cache_warning(effect: str, *, seen_after_restart: bool = True) -> str | None:
    """For commands whose effect reaches servers through the shared cache: a
    warning when the cache is per process (the local default), else None.

    `seen_after_restart`: whether a restarted server picks the effect up (a
    switch or a sign-out is also in the database; a warmed page is not)."""
    from django.conf import settings

    backend = settings.CACHES["default"]["BACKEND"]
    if backend not in _PER_PROCESS:
        return None
    configured = settings.CONFIG.values.get("CACHE_URL")
    source = f"CACHE_URL={configured}" if configured else "CACHE_URL unset"
    kind = "a dummy that stores nothing" if backend.endswith("DummyCache") else "local memory"
    later = (
        "a running server sees it only after a restart"
        if seen_after_restart
        else "no running server sees it, before or after a restart"
    )
    return (
        f"Note: the cache is {kind} ({source}), so {effect} only in this command's "
        f"process; {later}. Use the ops console instead, or set CACHE_URL=redis://… "
        "for every process."
    )
