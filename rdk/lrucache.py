"""Per-process LRU caches of what a setting decides (URL resolution, the admin
path): forgotten when that setting changes, as `override_settings` does in
tests and Django's own URL caches do (`clear_url_caches`)."""

from __future__ import annotations

from typing import Any, Protocol

from django.core.signals import setting_changed


class Clearable(Protocol):
    def cache_clear(self) -> None: ...


def forget_when_changed(setting: str, cached: Clearable) -> None:
    """Clear `cached` (a `functools.lru_cache` function) whenever `setting` changes."""

    def forget(*, setting: str, **kwargs: Any) -> None:
        if setting == name:
            cached.cache_clear()

    name = setting
    # A closure: held strongly, or the signal would drop it at once.
    setting_changed.connect(forget, weak=False)
