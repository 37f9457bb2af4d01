"""Django's Redis cache backend, keeping one Redis client per connection pool.

Django builds a new `redis.Redis` object for every cache call, and its
constructor fills a table of ~170 response callbacks: about a third of the time
a cached page takes to serve. The client is thread-safe (connections come
from the pool), so one per pool is enough."""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _Client(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients.setdefault(index, self._client(connection_pool=pool))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _Client


# Backends whose entries live inside one process: a management command that
# writes to them changes nothing a running server reads.
_PER_PROCESS = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


def per_process_cache_warning(effect: str) -> str | None:
    """For commands whose effect reaches servers through the shared cache: a
    warning when the cache is per process (the local default), else None."""
    from django.conf import settings

    if settings.CACHES["default"]["BACKEND"] not in _PER_PROCESS:
        return None
    return (
        f"Note: the cache is local memory (CACHE_URL unset), so {effect} only in this "
        "command's process; a running server sees it after a restart. Use the ops "
        "console instead, or set CACHE_URL=redis://… for every process."
    )
