"""Shared fixtures. Tests hit the real database (PostgreSQL under `make test`)
and the real cache (Redis under `make test`); only Stripe's servers are stood in."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection

from rdk import funnel
from rdk.logs import JsonFormatter, RequestIdFilter

BASE_DIR = Path(__file__).resolve().parent.parent


def pytest_report_header(config) -> list[str]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    cache_backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return [
        f"rdk: database {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or db['NAME']}, "
        f"cache {cache_backend}"
    ]


def pytest_collection_modifyitems(config, items) -> None:
    """Postgres-only tests are skipped, with the reason, on SQLite; under CI
    (`make test` with CI=true) the run never gets here on SQLite."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL; this run fell back to SQLite")
    for item in items:
        if "postgres" in item.keywords or "rls" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Every session starts from an empty test database, whatever happened before.

    `--reuse-db` keeps the database between runs, and a run killed in the
    middle of a transactional or browser test leaves its rows behind (the next
    run failed with "Key (username)=(ops) already exists"). Emptying every
    table costs about a second, not a re-migration; tests/rdk/test_interrupted_run.py
    kills a run on purpose to prove it."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty shared cache (a Redis db of its own under make test)."""
    cache.clear()
    from rdk import cachetags, degradations, ratelimits, switches

    switches._forget()
    cachetags.local_versions.forget()  # read from the cache this test starts with
    funnel._pending.take()  # counts buffered by an earlier test are not this one's
    degradations._active.clear()  # an outage one test staged is not the next test's
    ratelimits._fallback_counters.clear()  # nor are the counts made while it lasted
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _payments_registry():
    """Tests may swap Stripe handlers (orders registers the real ones at start-up);
    each test ends with the registry as it found it."""
    from payments import registry

    state = registry.snapshot()
    yield
    registry.restore(state)


@pytest.fixture(autouse=True)
def _steady_ratelimit_clock(monkeypatch):
    """django-ratelimit counts in fixed windows of wall-clock time: a test whose
    requests straddle a window's edge saw its counter reset (a flaky 429 test).
    Within a test the limiter reads one instant, so a count depends only on the
    requests the test makes."""
    import django_ratelimit.core

    instant = int(time.time())
    monkeypatch.setattr(django_ratelimit.core, "time", types.SimpleNamespace(time=lambda: instant))


@pytest.fixture(autouse=True)
def _no_slow_log(settings):
    """A loaded test machine makes any request "slow", and recording it adds
    queries to a test's count: slow logging is off unless a test sets its own
    thresholds (tests/opsadmin/test_slow_queries.py)."""
    settings.RDK_SLOW_REQUEST_MS = 0
    settings.RDK_SLOW_QUERY_MS = 0


@pytest.fixture
def json_logs():
    """Capture log lines as RDK writes them; returns a function giving the parsed lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.fixture
def manage():
    """Run `python manage.py …` in a subprocess with a given environment."""

    def run(*args: str, env: dict[str, str] | None = None, clean: bool = False, timeout: int = 60):
        base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "")}
        if not clean:
            base = {**os.environ}
        base.update(env or {})
        return subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), *args],
            cwd=BASE_DIR,
            env=base,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def admin_user(db):
    from tests.staff import Staff

    return Staff("admin").user


@pytest.fixture
def admin_client(db):
    """A superuser signed in to the admin with password and TOTP, as the real
    admin sign-in leaves the session (overrides pytest-django's admin_client,
    which the OTP-enforcing admin would refuse)."""
    from django.test import Client

    from tests.staff import Staff, verified_login

    client = Client()
    staff = Staff("admin")
    verified_login(client, staff)
    client.staff = staff
    return client


class RedisRoundTrips:
    """Counts commands (or pipelines) sent to Redis at the socket: each is one
    round trip. `count` so far; `(action)` gives what `action()` sent."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from redis.connection import AbstractConnection

        self.count = 0
        send = AbstractConnection.send_packed_command

        def counted(connection_, *args, **kwargs):
            self.count += 1
            return send(connection_, *args, **kwargs)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)

    def __call__(self, action) -> int:
        before = self.count
        action()
        return self.count - before


@pytest.fixture
def redis_round_trips(monkeypatch) -> RedisRoundTrips:
    return RedisRoundTrips(monkeypatch)
