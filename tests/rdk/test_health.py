from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import BASE_DIR


@pytest.mark.django_db
def test_healthz_touches_nothing(client, django_assert_num_queries, settings):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "release": settings.RDK_RELEASE}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_all_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "migrations", "config"}
    for check in body["checks"].values():
        assert check["ok"] is True
        assert isinstance(check["duration_ms"], float)
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_stays_200_degraded_when_the_cache_cannot_store(client, monkeypatch):
    """Every host shares the one Redis: a 503 would pull them all at once."""
    from django.core.cache.backends.dummy import DummyCache

    from rdk import health

    monkeypatch.setattr(health, "cache", DummyCache("nowhere", {}))
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"] == {
        "ok": False,
        "degraded": True,
        "reason": "cache did not return what was stored",
        "duration_ms": body["checks"]["cache"]["duration_ms"],
    }
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_readyz_reports_unapplied_migrations(client, monkeypatch):
    from django.db.migrations.recorder import MigrationRecorder

    from rdk import health

    monkeypatch.setattr(health, "_migrations_applied", False)
    # Forget, inside this test's transaction, that rdk's migrations were applied.
    forgotten, _ = MigrationRecorder.Migration.objects.filter(app="rdk").delete()
    assert forgotten >= 1
    response = client.get("/readyz")
    assert response.status_code == 503
    migrations = response.json()["checks"]["migrations"]
    assert migrations["ok"] is False
    assert migrations["reason"] == f"{forgotten} migration(s) not applied"


def test_health_endpoints_refuse_post(client):
    assert client.post("/healthz").status_code == 405


SCRIPT = """
import django, json
django.setup()
from django.test import Client
response = Client().get('/readyz')
print(json.dumps({'status': response.status_code, 'body': response.json()}))
"""


def test_readyz_503_when_database_is_down():
    """A DATABASE_URL pointing at a port where nothing listens: 503, database failing,
    and the reason carries no part of the URL."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "rdk.settings",
        "RDK_ENV": "local",
        "DATABASE_URL": "postgres://rdk:pw-never-shown@127.0.0.1:1/rdk",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    database = answer["body"]["checks"]["database"]
    assert database["ok"] is False
    assert "pw-never-shown" not in result.stdout
    assert answer["body"]["checks"]["cache"]["ok"] is True
