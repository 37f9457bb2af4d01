"""Commands whose effect reaches servers through the shared cache say so when
the cache is per process (the local default), instead of promising it."""

from io import StringIO

import pytest
from django.core.management import call_command

from rdk.cache import per_process_cache_warning

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {"default": {"BACKEND": "rdk.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/15"}}


def test_warning_only_for_a_per_process_cache(settings):
    settings.CACHES = REDIS
    assert per_process_cache_warning("x happened") is None
    settings.CACHES = LOCMEM
    assert "so x happened only in this command's process" in per_process_cache_warning("x happened")


@pytest.mark.django_db
def test_switch_command_does_not_promise_every_process_on_local_memory(settings):
    settings.CACHES = LOCMEM
    out, err = StringIO(), StringIO()
    call_command("switch", "on", "cache.force_dynamic", "--reason", "t", stdout=out, stderr=err)
    assert "every process" not in out.getvalue()
    assert "local memory" in err.getvalue()


@pytest.mark.django_db
def test_warm_cache_on_local_memory_never_promises_a_restart(settings, monkeypatch):
    """Warmed pages live only in the command's memory: a restarted server starts
    empty. And locmemcache:// set explicitly is not "CACHE_URL unset"."""
    settings.CACHES = LOCMEM
    values = {**settings.CONFIG.values, "CACHE_URL": "locmemcache://"}
    monkeypatch.setattr(settings.CONFIG, "values", values)
    out, err = StringIO(), StringIO()
    call_command("warm_cache", "--quiet", stdout=out, stderr=err)
    assert "after a restart" not in err.getvalue().replace("before or after a restart", "")
    assert "no running server sees it, before or after a restart" in err.getvalue()
    assert "(CACHE_URL=locmemcache://)" in err.getvalue()
    assert "CACHE_URL unset" not in err.getvalue()
