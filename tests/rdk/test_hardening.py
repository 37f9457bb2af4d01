"""Issue 11's second security pass, platform side: no Basic auth on the API,
one key per client address, no tokens in logs or Sentry, no silent fallback
to local, row security cannot be switched off by the connected role, https
in production, and the admin's service scope only after the second factor."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import include, path

from rdk import env
from rdk.clientip import client_ip
from rdk.ratelimits import _ip_key
from rdk.rls import rls_current
from tests.conftest import BASE_DIR
from tests.rdk.test_env import GOOD_PRODUCTION
from tests.rdk.test_sentry import sentry_events  # noqa: F401 (a fixture)
from tests.staff import PASSWORD, Staff, make_user, verified_login

# Shaped like a password-reset token; assembled, so that the source lines
# Sentry sends as context do not carry it.
TOKEN = "-".join(["cz3k1v", "0123456789abcdef" * 2])


def exploding_view(request, uidb64, token):
    raise RuntimeError("boom")


urlpatterns = [
    path("account/reset/<uidb64>/<token>/", exploding_view),
    path("", include("rdk.urls")),
]


# API: session only ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_ignores_http_basic_so_it_is_no_password_oracle(client):
    make_user("api-target", staff=False)

    def basic(password: str) -> str:
        return "Basic " + base64.b64encode(f"api-target:{password}".encode()).decode()

    right = client.get("/api/v1/products", HTTP_AUTHORIZATION=basic(PASSWORD))
    wrong = client.get("/api/v1/products", HTTP_AUTHORIZATION=basic("guess"))
    assert right.status_code == wrong.status_code == 200


# Client addresses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "forwarded", "hops", "expected"),
    [
        ("::ffff:198.51.100.7", "", 0, "198.51.100.7"),
        ("10.0.0.1", "198.51.100.7:51234", 1, "198.51.100.7"),
        ("10.0.0.1", "[2001:db8::5]:443", 1, "2001:db8::5"),
        ("10.0.0.1", "::ffff:198.51.100.7", 1, "198.51.100.7"),
        ("10.0.0.1", "2001:db8::5", 1, "2001:db8::5"),
        ("10.0.0.1", "[not-an-address]:1", 1, "10.0.0.1"),
    ],
)
def test_client_addresses_are_normalised_before_keying(settings, remote, forwarded, hops, expected):
    settings.TRUSTED_PROXY_COUNT = hops
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_clients_behind_ports_no_longer_share_one_key(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    keys = {
        _ip_key(RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=header))
        for header in ("198.51.100.7:1000", "198.51.100.8:1000", "[2001:db8:1::1]:443")
    }
    assert len(keys) == 3
    same = {
        _ip_key(RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=header))
        for header in ("198.51.100.7:1000", "198.51.100.7:2000", "::ffff:198.51.100.7")
    }
    assert same == {"198.51.100.7"}


# Redaction -------------------------------------------------------------------------


@pytest.mark.django_db
def test_tokens_never_reach_the_access_log(client, json_logs):
    client.get(f"/account/password-reset/MQ/{TOKEN}/")
    client.get("/checkout/success?session_id=cs_test_secret_session_1234")
    text = json.dumps(json_logs())
    assert TOKEN not in text
    paths = [line["path"] for line in json_logs() if line["event"] == "request"]
    assert "/account/password-reset/[redacted]/[redacted]/" in paths


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.rdk.test_hardening", LOG_REDACT_PARAMS=["invite"])
def test_tokens_never_reach_sentry_or_the_log_of_a_failing_request(
    client,
    sentry_events,  # noqa: F811
    json_logs,
):
    client.raise_request_exception = False
    url = f"/account/reset/MQ/{TOKEN}/?session_id=cs_test_secret_9&invite=inv-secret-7&page=2"
    assert client.get(url).status_code == 500
    events = sentry_events()
    assert len(events) == 1
    report = json.dumps(events) + json.dumps(json_logs())
    for secret in (TOKEN, "cs_test_secret_9", "inv-secret-7"):
        assert secret not in report


@override_settings(ROOT_URLCONF="tests.rdk.test_hardening", LOG_REDACT_PARAMS=["invite"])
def test_a_sentry_event_that_carries_the_url_loses_its_tokens():
    """Events sent with request data (transactions, other integrations) too."""
    from rdk.observability import _before_send

    event = {
        "request": {
            "url": f"https://shop.example/account/reset/MQ/{TOKEN}/",
            "query_string": "session_id=cs_test_secret_9&invite=inv-7&page=2",
        }
    }
    request = _before_send(event, {})["request"]
    assert request["url"] == "https://shop.example/account/reset/[redacted]/[redacted]/"
    assert request["query_string"] == ("session_id=[redacted]&invite=[redacted]&page=2")


# Configuration -----------------------------------------------------------------------


def test_no_rdk_env_is_refused_with_postgres_or_redis():
    problems = {p.name: str(p) for p in env.load({"DATABASE_URL": "postgres://u@h/d"}).problems}
    assert "DATABASE_URL points at PostgreSQL" in problems["RDK_ENV"]
    problems = {p.name: str(p) for p in env.load({"CACHE_URL": "redis://h:6379/0"}).problems}
    assert "CACHE_URL points at Redis" in problems["RDK_ENV"]
    assert env.load({"RDK_ENV": "local", "DATABASE_URL": "postgres://u@h/d"}).problems == []
    assert env.load({"DATABASE_URL": "sqlite:///tmp/x.sqlite3"}).problems == []


VENV_BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "manage.py", "check"],
        [sys.executable, "-m", "django", "check"],
        [str(VENV_BIN / "django-admin"), "check"],
        [sys.executable, "-c", "import rdk.asgi"],
        [sys.executable, "-c", "import django; django.setup()"],
    ],
    ids=["manage.py", "python -m django", "django-admin", "asgi", "script"],
)
def test_every_entry_point_refuses_a_silent_local(command):
    result = subprocess.run(
        command,
        cwd=BASE_DIR,
        env={
            "PATH": f"{VENV_BIN}:/usr/bin:/bin",
            "PYTHONPATH": str(BASE_DIR),
            "DJANGO_SETTINGS_MODULE": "rdk.settings",
            "DATABASE_URL": "postgres://rdk@127.0.0.1:1/rdk",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "RDK_ENV: is not set while DATABASE_URL points at PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_a_plain_http_site_url(manage, tmp_path):
    problems = {
        p.name for p in env.load({**GOOD_PRODUCTION, "SITE_URL": "http://shop.example"}).problems
    }
    assert problems == {"SITE_URL"}
    file = tmp_path / "production.env"
    file.write_text(
        "\n".join(f"{k}={v}" for k, v in {**GOOD_PRODUCTION, "SITE_URL": "http://x.io"}.items())
    )
    result = manage("envcheck", "--env-file", str(file), clean=True)
    assert result.returncode == 1
    assert "SITE_URL: is not https, which production refuses" in result.stderr


# Row security cannot be switched off by the role --------------------------------------


def _as_superuser() -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://postgres@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {**os.environ, "RDK_ENV": "local", "DATABASE_URL": url, "RDK_LOG_LEVEL": "error"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rls_audit_and_readyz_fail_for_a_superuser_connection(manage):
    audit = manage("rls_audit", env=_as_superuser())
    assert audit.returncode != 0
    assert "is a superuser: row security does not bind it" in audit.stdout + audit.stderr
    ready = manage(
        "shell",
        "-c",
        "from django.test import Client; r = Client().get('/readyz'); "
        "print(r.status_code, r.json()['checks']['database'])",
        env=_as_superuser(),
    )
    assert "503 {'ok': False, 'reason': 'the database role postgres is a superuser" in ready.stdout


@pytest.mark.postgres
@pytest.mark.django_db
def test_readyz_passes_for_the_rdk_role(client):
    response = client.get("/readyz")
    assert response.json()["checks"]["database"]["ok"] is True


# The admin's service scope ---------------------------------------------------------------


@pytest.mark.rls
@pytest.mark.django_db
def test_the_admin_gives_the_service_scope_only_after_the_second_factor(client, monkeypatch):
    seen = []

    def probe(request, *, site):
        seen.append(rls_current())
        return HttpResponse("probe")

    monkeypatch.setattr("opsadmin.views.auth.admin_login", probe)
    staff = Staff("half-signed-in")
    client.force_login(staff.user)  # password only: no verified device in the session
    client.get("/admin/login/")
    verified_login(client, staff)
    client.get("/admin/login/")
    assert seen == [("user", str(staff.user.pk)), ("service", "")]
