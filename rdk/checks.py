"""System checks: configuration problems fail `manage.py check`."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility, deploy=False)
def config_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[Error]:
    return [
        Error(str(problem), hint=f"Set {problem.name} (see .env.example).", id="rdk.E001")
        for problem in settings.CONFIG.problems
    ]


# Backends whose counters are per process (or absent, or not atomically
# incremented): with several processes, each would allow the full rate.
_UNSHARED_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "keeps counts inside one process",
    "django.core.cache.backends.dummy.DummyCache": "stores nothing",
    "django.core.cache.backends.filebased.FileBasedCache": "cannot count atomically",
    "django.core.cache.backends.db.DatabaseCache": "cannot count atomically",
}


@register(Tags.caches, deploy=False)
def ratelimit_cache_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[Error]:
    """Outside local, rate-limit counters must live in the shared cache."""
    if settings.RDK_ENV == "local":
        return []
    alias = getattr(settings, "RATELIMIT_USE_CACHE", "default")
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    reason = _UNSHARED_CACHES.get(backend)
    if reason is None:
        return []
    return [
        Error(
            f"Rate limits use the cache {alias!r} ({backend}), which {reason}; "
            f"{settings.RDK_ENV} runs several processes that must share counters.",
            hint="Set CACHE_URL to redis://HOST:PORT/DB.",
            id="rdk.E002",
        )
    ]
